package storeflag

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/pgstore"
)

// isPostgresURL reports whether spec is a PostgreSQL URL.
func isPostgresURL(spec string) bool {
	return strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://")
}

// openPostgres connects to a PostgreSQL database, in the schema the URL's
// ledger_schema parameter names (default "electionledger"), creating it on
// first use. The log there may be shared: an audit walks all of it. With
// fresh set, a schema that already holds events is refused, as a used
// ledger file is.
func openPostgres(spec string, now func() time.Time, fresh bool) (*Opened, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := pgstore.Open(ctx, spec, pgstore.WithClock(now))
	if err != nil {
		return nil, err
	}
	where := redacted(spec)
	if fresh {
		for _, err := range s.ReadAll(ctx, 0) {
			s.Close()
			if err != nil {
				return nil, err
			}
			return nil, &schemaInUse{schema: s.Schema(), where: where}
		}
	}
	return &Opened{Store: s, Kind: "postgres", Where: where, Close: s.Close,
		Verify: func() (chain.ChainsReport, error) { return chain.VerifyChains(context.Background(), s) }}, nil
}

// redacted is spec with any password masked: Where gets printed.
func redacted(spec string) string {
	u, err := url.Parse(spec)
	if err != nil {
		return "a PostgreSQL URL that does not parse"
	}
	return u.Redacted()
}

// schemaInUse is a fresh run pointed at a schema that already holds a
// ledger. It matches ErrExists.
type schemaInUse struct{ schema, where string }

func (e *schemaInUse) Error() string {
	return fmt.Sprintf("schema %q at %s already holds a ledger; name another with ?%s=... or drop it",
		e.schema, e.where, pgstore.SchemaParam)
}

func (e *schemaInUse) Is(target error) bool { return target == ErrExists }
