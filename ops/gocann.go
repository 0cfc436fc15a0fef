package ops

// DomainGoCANN is the operator domain of GoCANN's own operators (opset
// version 1): the fused operators that the graph engine's passes put in
// place of subgraphs of standard ones (FusedConv, FusedMatMul, Attention,
// SkipLayerNormalization...). They are ordinary operators, so an optimized
// graph is still a valid ONNX graph that imports this domain.
const DomainGoCANN = "com.gocann"
