module github.com/gocann/gocann

go 1.26.0

require (
	github.com/ebitengine/purego v0.11.3
	github.com/mmcloughlin/avo v0.6.0
	golang.org/x/image v0.47.0
	golang.org/x/sys v0.50.0
	google.golang.org/protobuf v1.36.12
)

require (
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
)
