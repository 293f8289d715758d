//===- ssc-opt.cpp - run SuperScaler passes on MLIR files -----------------===//
//
// Like mlir-opt, with the graph and dist dialects and every SuperScaler pass
// registered, so each stage can be run and tested alone.
//
//===----------------------------------------------------------------------===//

#include "Dist/DistDialect.h"
#include "Graph/GraphDialect.h"
#include "Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<ss::graph::GraphDialect, ss::dist::DistDialect,
                  mlir::func::FuncDialect>();
  ss::registerSuperScalerPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "SuperScaler optimizer driver\n", registry));
}
