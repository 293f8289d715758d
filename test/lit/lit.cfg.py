# lit configuration for SuperScaler's per-pass FileCheck tests.
import os

import lit.formats

config.name = "SuperScaler"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ss_tools_dir, "..", "test", "lit")

for tool_dir in (os.path.join(config.ss_tools_dir, "ssc-opt"),
                 os.path.join(config.ss_tools_dir, "ssc"),
                 config.llvm_tools_dir):
    config.environment["PATH"] = tool_dir + os.pathsep + config.environment.get("PATH", "")
config.environment["PATH"] += os.pathsep + os.environ.get("PATH", "")
config.substitutions.append(("%python", config.ss_python))
config.substitutions.append(("%models", os.path.join(config.ss_source_dir, "models")))
# The example plan plugin (models/plans/pipeline_plugin), for driver tests.
config.substitutions.append(
    ("%pipeline_plugin", os.path.join(config.ss_tools_dir, "..", "models", "plans",
                                      "pipeline_plugin", "libSSPipelinePlan.so")))
