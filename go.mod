module github.com/gocann/gocann

go 1.26
