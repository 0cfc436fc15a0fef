// Package onnxpb holds the Go protobuf bindings for the ONNX IR (onnx.proto).
//
// It is internal on purpose: the generated types are an encoding detail of
// the importer, and keeping them out of GoCANN's public API lets the importer
// change protobuf versions or regenerate from a newer onnx.proto without
// breaking callers.
//
// onnx.proto is an unmodified copy of /usr/include/onnx/onnx.proto from the
// Debian package libonnx-dev 1.12.0-2 (ONNX 1.12.0, IR version 8), licensed
// Apache-2.0 as its SPDX header says. onnx.pb.go is generated from it with
// protoc 3.21.12 (Debian protobuf-compiler) and protoc-gen-go v1.36.12:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	cd onnx/internal/onnxpb && go generate
//
// which runs exactly the command on the go:generate line below. The M option
// supplies the Go import path, because the upstream onnx.proto has no
// go_package option and we do not want to edit the copy.
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/gocann/gocann/onnx/internal/onnxpb onnx.proto
