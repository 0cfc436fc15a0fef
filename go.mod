module github.com/gocann/gocann

go 1.26.0

require (
	golang.org/x/image v0.47.0
	golang.org/x/sys v0.50.0
	google.golang.org/protobuf v1.36.12
)
