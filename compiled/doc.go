// Package compiled reads and writes GoCANN's compiled model files (.cann),
// the counterpart of CANN's ATC .om files and TensorRT's engine files: a
// model already optimized for a target, which loads without parsing
// weights or running the optimization passes again.
//
// # Layout
//
// A file is a fixed header, a manifest, the graph and the weights, in that
// order; all integers are little-endian:
//
//	offset  size  field
//	     0     8  magic "\x89GoCANN\n"
//	     8     4  format version (FormatVersion)
//	    12     4  flags (bit 0: the weights checksum is set)
//	    16    16  manifest offset, length (JSON, see Manifest)
//	    32    16  graph offset, length (ONNX ModelProto)
//	    48    16  weights offset, length (64-byte aligned)
//	    64     4  CRC-32C of the header (this field zeroed), manifest and graph
//	    68     4  CRC-32C of the weights section
//	    72    56  reserved, zero
//
// The graph is the optimized [graph.Model] serialized by the onnx package's
// exporter, fused operators (domain com.gocann) included, so any ONNX tool
// can read it. Its tensors stay out of the protobuf: each is ONNX external
// data whose location is WeightsLocation and whose offset and length point
// into the weights section, every tensor at a 64-byte aligned offset.
// Tensors smaller than InlineBytes and string tensors stay inline.
//
// # Loading
//
// [Open] maps the file read-only (where the system can) and the weight
// tensors are read-only views of the mapping: nothing is copied, pages are
// read on first use and shared by every process that maps the file. The
// mapping lives until [Model.Close]. Where mapping is unavailable, or for
// [Read] and [Decode], the file is read into memory instead.
//
// Everything read is checked before it is used: section bounds, the
// header checksum over manifest and graph (and, on request, the weights
// checksum), every tensor's place in the weights section. A file from
// another format version, an incompatible GoCANN release, another
// architecture, or compiled for CPU features this machine lacks fails with
// an error wrapping [ErrIncompatible]; a damaged one with an error wrapping
// [ErrCorrupt]. Nothing in a file makes these functions panic.
package compiled
