// Unit tests of dimension annotations: text form, checks against shapes,
// label splits, and shape attributes of sub-ops.
#include "Graph/DimAnnotation.h"
#include "Graph/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <catch2/catch.hpp>

using namespace ss::graph;
using Shapes = llvm::SmallVector<llvm::ArrayRef<int64_t>>;

static std::string roundTrip(llvm::StringRef text) {
  std::string error;
  auto annotation = DimAnnotation::parse(text, &error);
  if (mlir::failed(annotation))
    return "error: " + error;
  return annotation->str();
}

TEST_CASE("grouped dims parse and print") {
  CHECK(roundTrip("a b (c d^) -> a b c d^") == "a b (c d^) -> a b c d^");
  CHECK(roundTrip("  (a b^)c ->a   b^ c") == "(a b^) c -> a b^ c");
  CHECK(roundTrip("(k+ j^), -> ") == "(k+ j^), ->");
  CHECK(roundTrip("a (b c^ d^) -> (b c^ d^) a") ==
        "a (b c^ d^) -> (b c^ d^) a");
  CHECK(roundTrip("a (b c) -> a") ==
        "error: label 'c' in group '(b c)' must be frozen: only a group's "
        "first label can split");
  CHECK(roundTrip("(a) -> a") ==
        "error: group '(a)' needs at least two labels");
  CHECK(roundTrip("(a 1^) -> a") == "error: bad label '1^'");
  CHECK(roundTrip("(a 1) -> a") == "error: '1' in group '(a 1)'");
  CHECK(roundTrip("(a b^ -> a") == "error: unclosed '('");
  CHECK(roundTrip("(a (b^ c^)) -> a") == "error: nested '('");
  CHECK(roundTrip("a b^) -> a") == "error: unmatched ')'");
  auto annotation = DimAnnotation::parse("a (b c^) -> (a d^) b");
  REQUIRE(mlir::succeeded(annotation));
  CHECK(annotation->inputLabel(0, 1).name == "b");
  CHECK(annotation->outputLabel(0, 0).name == "a");
  CHECK(annotation->outputLabel(0, 1).name == "b");
  std::string names;
  for (const DimLabel &label : annotation->labels())
    names += label.str() + " ";
  CHECK(names == "a b c^ d^ ");
}

static std::string sizes(llvm::StringRef text, Shapes in, Shapes out) {
  auto annotation = DimAnnotation::parse(text);
  REQUIRE(mlir::succeeded(annotation));
  std::string error;
  auto resolved = resolveLabelSizes(*annotation, in, out, &error);
  if (mlir::failed(resolved))
    return "error: " + error;
  std::string result;
  for (const DimLabel &label : annotation->labels())
    result +=
        label.name + "=" + std::to_string(resolved->lookup(label.name)) + " ";
  return result;
}

TEST_CASE("label sizes resolve through groups") {
  llvm::SmallVector<int64_t> bsh{2, 8, 768}, bsnh{2, 8, 12, 64};
  CHECK(sizes("a b (c d^) -> a b c d^", {bsh}, {bsnh}) == "a=2 b=8 c=12 d=64 ");
  llvm::SmallVector<int64_t> flat{768}, w{4};
  // A label only in groups takes its size from the one unknown.
  CHECK(sizes("(c d^) -> (c d^)", {flat}, {flat}) ==
        "error: group '(c d^)' on operand #0 dim 0 leaves the sizes of 'c', "
        "'d' undetermined");
  llvm::SmallVector<int64_t> twelve{12}, x{12, 768};
  CHECK(sizes("c, (c d^) -> c", {twelve, flat}, {twelve}) == "c=12 d=64 ");
  llvm::SmallVector<int64_t> seven{7};
  CHECK(sizes("c, (c d^) -> c", {seven, flat}, {seven}) ==
        "error: group '(c d^)' on operand #1 dim 0 of size 768 does not give "
        "label 'd' a size: the other labels multiply to 7");
  llvm::SmallVector<int64_t> sixtyFour{64};
  CHECK(sizes("c, d^, (c d^) -> c", {seven, sixtyFour, flat}, {seven}) ==
        "error: group '(c d^)' on operand #2 dim 0 has size 768 but its labels "
        "multiply to 448");
  CHECK(sizes("a b -> a", {x}, {twelve}) ==
        "error: spatial label 'b' appears in no result");
  CHECK(sizes("a b+ -> (a b^)", {x}, {flat}) ==
        "error: reduced label 'b' appears in result #0");
  CHECK(sizes("a, a -> a", {twelve, seven}, {twelve}) ==
        "error: label 'a' is 12 in operand #0 dim 0 but 7 in operand #1 dim 0");
  CHECK(sizes("a (b c^) -> a (b d^)", {x}, {x}) ==
        "error: group '(b c^)' on operand #0 dim 1 leaves the sizes of 'b', "
        "'c' undetermined");
}

static std::string split(llvm::StringRef text, Shapes in, Shapes out,
                         llvm::StringRef label, int64_t n) {
  auto annotation = DimAnnotation::parse(text);
  REQUIRE(mlir::succeeded(annotation));
  std::string error;
  auto result = splitLabel(*annotation, in, out, label, n, &error);
  if (mlir::failed(result))
    return "error: " + error;
  std::string s;
  auto side = [&](llvm::ArrayRef<TensorSplit> tensors) {
    for (const TensorSplit &t : tensors) {
      s += "[";
      for (int64_t c : t.dimChunks)
        s += std::to_string(c) + " ";
      s += "v" + std::to_string(t.valueParts) + "]";
    }
  };
  side(result->inputs);
  s += " -> ";
  side(result->outputs);
  return s;
}

TEST_CASE("splitting a label") {
  llvm::SmallVector<int64_t> bsh{2, 8, 768}, bsnh{2, 8, 12, 64};
  CHECK(split("a b (c d^) -> a b c d^", {bsh}, {bsnh}, "c", 4) ==
        "[1 1 4 v1] -> [1 1 4 1 v1]");
  CHECK(split("a b (c d^) -> a b c d^", {bsh}, {bsnh}, "c", 5) ==
        "error: label 'c' of size 12 does not split 5 ways: 5 does not divide "
        "12");
  CHECK(split("a b (c d^) -> a b c d^", {bsh}, {bsnh}, "d", 2) ==
        "error: label 'd' (size 64) is frozen and cannot split 2 ways");
  CHECK(split("a b (c d^) -> a b c d^", {bsh}, {bsnh}, "e", 2) ==
        "error: no label 'e' in 'a b (c d^) -> a b c d^'");
  CHECK(split("a b (c d^) -> a b c d^", {bsh}, {bsnh}, "a", 0) ==
        "error: cannot split label 'a' 0 ways");
  // A reduced split: results and operands without the label are partial sums.
  llvm::SmallVector<int64_t> mk{3, 4}, kn{4, 6}, mn{3, 6}, n{6};
  CHECK(split("a b+, b+ c, c -> a c", {mk, kn, n}, {mn}, "b", 2) ==
        "[1 2 v1][2 1 v1][1 v2] -> [1 1 v2]");
  CHECK(split("a b+, b+ c, c -> a c", {mk, kn, n}, {mn}, "c", 3) ==
        "[1 1 v1][1 3 v1][3 v1] -> [1 3 v1]");
  // A scalar operand (an empty list) and a `1` dim.
  llvm::SmallVector<int64_t> scalar{}, one{3, 1};
  CHECK(split("a b, -> a b", {mk, scalar}, {mk}, "a", 3) ==
        "[3 1 v1][v1] -> [3 1 v1]");
  CHECK(split("a 1, a b -> a b", {one, mk}, {mk}, "b", 2) ==
        "[1 1 v1][1 2 v1] -> [1 2 v1]");
}

static const char *kModule = R"mlir(
func.func @f(%a: tensor<2x8x768xf32>, %b: tensor<1x768xf32>, %c: tensor<4x6xf32>, %d: tensor<4x6xf32>) {
  %0 = graph.reshape %a {shape = array<i64: 2, 8, 12, 64>} : tensor<2x8x768xf32> -> tensor<2x8x12x64xf32>
  %1 = graph.broadcast_to %b {shape = array<i64: 2, 8, 768>} : tensor<1x768xf32> -> tensor<2x8x768xf32>
  %2 = graph.slice %c {starts = array<i64: 0, 1>, sizes = array<i64: 4, 4>, steps = array<i64: 1, 1>} : tensor<4x6xf32> -> tensor<4x4xf32>
  %3:2 = graph.split %d {axis = 1 : i64, sizes = array<i64: 2, 4>} : tensor<4x6xf32> -> tensor<4x2xf32>, tensor<4x4xf32>
  %4 = graph.resize %c {sizes = array<i64: 4, 12>, scales = array<f32: 1.0, 2.0>, mode = "nearest", coordinate_transformation_mode = "asymmetric", nearest_mode = "floor"} : tensor<4x6xf32> -> tensor<4x12xf32>
  %5 = graph.relu %c : tensor<4x6xf32> -> tensor<4x6xf32>
  return
}
)mlir";

/// Halves dim `dim` of every tensor the split of `label` cuts, as the
/// partitioner does for one piece, then adapts the attributes.
static std::string piece(mlir::Operation *op, llvm::StringRef label) {
  std::string error;
  auto split = splitLabel(op, label, 2, &error);
  if (mlir::failed(split))
    return "error: " + error;
  auto shrink = [](mlir::Type type, const TensorSplit &t) {
    auto tensor = mlir::cast<mlir::RankedTensorType>(type);
    llvm::SmallVector<int64_t> shape(tensor.getShape());
    for (auto [d, chunks] : llvm::enumerate(t.dimChunks))
      shape[d] /= chunks;
    return tensor.clone(shape);
  };
  mlir::OpBuilder builder(op);
  for (auto [index, operand] : llvm::enumerate(op->getOperands())) {
    mlir::Type type = shrink(operand.getType(), split->inputs[index]);
    // A stand-in operand of the piece's type.
    auto arg =
        op->getBlock()->getParent()->front().addArgument(type, op->getLoc());
    op->setOperand(index, arg);
  }
  for (auto [index, result] : llvm::enumerate(op->getResults()))
    result.setType(shrink(result.getType(), split->outputs[index]));
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(op->getContext(),
                                        [&](mlir::Diagnostic &diag) {
                                          diagnostics += diag.str() + "\n";
                                          return mlir::success();
                                        });
  if (mlir::failed(checkInferredTypes(op)) && diagnostics.empty())
    diagnostics = "failed without message\n";
  std::string before = diagnostics;
  auto annotated = mlir::cast<DimAnnotationOpInterface>(op);
  if (mlir::failed(annotated.adaptAttributesToTypes()))
    return "adapt failed";
  diagnostics.clear();
  if (mlir::failed(checkInferredTypes(op)))
    return "still wrong: " + diagnostics;
  std::string text;
  llvm::raw_string_ostream os(text);
  op->print(os);
  return "before: " + before + "after: " + text;
}

TEST_CASE("sub-ops restate their shapes") {
  mlir::MLIRContext context;
  context.loadDialect<GraphDialect, mlir::func::FuncDialect>();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(kModule, &context);
  REQUIRE(module);
  llvm::SmallVector<mlir::Operation *> ops;
  module->walk([&](DimAnnotationOpInterface op) { ops.push_back(op); });
  REQUIRE(ops.size() == 6);
  std::string reshape = piece(ops[0], "c");
  INFO(reshape);
  CHECK(llvm::StringRef(reshape).contains(
      "type inference fails for result types 'tensor<2x8x6x64xf32>'"));
  CHECK(llvm::StringRef(reshape).contains("shape = array<i64: 2, 8, 6, 64>"));
  std::string broadcast = piece(ops[1], "c");
  INFO(broadcast);
  CHECK(llvm::StringRef(broadcast).contains("shape = array<i64: 2, 8, 384>"));
  std::string slice = piece(ops[2], "a");
  INFO(slice);
  CHECK(llvm::StringRef(slice).contains("sizes = array<i64: 2, 4>"));
  std::string splitOp = piece(ops[3], "a");
  INFO(splitOp);
  CHECK(llvm::StringRef(splitOp).contains("sizes = array<i64: 2, 4>"));
  CHECK(llvm::StringRef(splitOp).contains("tensor<2x2xf32>, tensor<2x4xf32>"));
  std::string resize = piece(ops[4], "a");
  INFO(resize);
  CHECK(llvm::StringRef(resize).contains("sizes = array<i64: 2, 12>"));
  CHECK(llvm::StringRef(resize).contains(
      "result #0 has type 'tensor<2x12xf32>' but type inference yields "
      "'tensor<4x12xf32>'"));
  std::string relu = piece(ops[5], "b");
  INFO(relu);
  CHECK(llvm::StringRef(relu).starts_with("before: after:"));
  CHECK(piece(ops[2], "b") ==
        "error: label 'b' (size 6) is frozen and cannot split 2 ways");
}
