module github.com/iimmpact-go/iimmpact/examples

go 1.26.0

require (
	github.com/iimmpact-go/iimmpact v0.5.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

replace (
	github.com/iimmpact-go/iimmpact => ../
	github.com/iimmpact-go/iimmpact/ledger => ../ledger
)
