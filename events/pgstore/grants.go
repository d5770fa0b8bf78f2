package pgstore

import "github.com/jackc/pgx/v5"

// GrantSQL returns the statements that give role the least a ledger
// process needs on schema, once the schema's owner has created it (by
// opening a store): USAGE on the schema, SELECT on its version table, and
// SELECT and INSERT on the events. With no UPDATE, DELETE or TRUNCATE, and
// not owning the table (so unable to drop or disable its triggers), such a
// role can only append through the insert guard and read. Both names are
// quoted as identifiers.
func GrantSQL(schema, role string) []string {
	s, r := pgx.Identifier{schema}.Sanitize(), pgx.Identifier{role}.Sanitize()
	return []string{
		"GRANT USAGE ON SCHEMA " + s + " TO " + r,
		"GRANT SELECT ON " + s + ".ledger_schema TO " + r,
		"GRANT SELECT, INSERT ON " + s + ".events TO " + r,
	}
}
