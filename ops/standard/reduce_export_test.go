package standard

// ReduceTrainingOpsForTest gives the external tests the training operators.
var ReduceTrainingOpsForTest = reduceTrainingOps
