module github.com/electionledger/ledger/bench/peers

go 1.26.0

require (
	github.com/electionledger/ledger v0.0.0
	github.com/go-json-experiment/json v0.0.0-20260820222146-c27c302e5fc3
	github.com/google/uuid v1.6.0
	github.com/hallgren/eventsourcing v0.8.0
	github.com/looplab/eventhorizon v0.16.0
	github.com/modernice/goes v0.5.0
	go.etcd.io/bbolt v1.4.3
)

require (
	github.com/hallgren/eventsourcing/core v0.4.0 // indirect
	github.com/jinzhu/copier v0.3.4 // indirect
	golang.org/x/exp v0.0.0-20231006140011-7918f672742d // indirect
	golang.org/x/mod v0.43.0 // indirect
	golang.org/x/sys v0.29.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20241202173237-19429a94021a // indirect
	google.golang.org/protobuf v1.36.5 // indirect
)

replace github.com/electionledger/ledger => ../..
