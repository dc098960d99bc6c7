#include "app/prepare.h"

#include "graph/graph_utils.h"
#include "graph/passes.h"
#include "onnx_io/model_io.h"

namespace ptq {

Model prepare_for_quantization(const Model& m, const QuantOptions& opts, JobObserver* obs) {
  int64_t need = opts.scheme == WeightScheme::PerTensor ? 10 : 13;
  Model model = m;
  if (model.opset() < need) {
    if (obs) obs->info(fmt::format("converting the model from opset {} to {}", model.opset(), need));
    model = convert_opset(model, need);
  }
  Graph& g = model.graph;
  drop_initializer_inputs(g);
  constants_to_initializers(g);
  remove_identity_nodes(g);
  sort_topologically(g);
  return model;
}

}  // namespace ptq
