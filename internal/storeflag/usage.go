package storeflag

// Usage describes the values of a -store flag, for a command's help text.
const Usage = `"memory", a ledger file path, an EventStoreDB/KurrentDB URL (esdb://host:2113?tls=false) ` +
	`or a PostgreSQL URL (postgres://user@host:5432/db?ledger_schema=name)`
