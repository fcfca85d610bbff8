# Prove at plan time that pods you place yourself can land on a node group, and that drivers
# stay off the executors' spot nodes. With real groups, pass their outputs:
#   provider::dataplatform::tolerates(var.placement, dataplatform_nodegroup.spark_executor.placement.taints)
locals {
  # What dataplatform_nodegroup.spark_executor.placement holds for purpose = "spark-executor".
  executor_placement = {
    node_selector = { purpose = "spark-executor" }
    tolerations = [
      { key = "purpose", operator = "Equal", value = "spark-executor", effect = "NoSchedule" },
    ]
    labels        = { purpose = "spark-executor" }
    taints        = [{ key = "purpose", value = "spark-executor", effect = "NoSchedule" }]
    capacity_type = "SPOT"
    local_storage = true
  }
  driver_placement = {
    node_selector = { purpose = "spark-driver" }
    tolerations   = []
  }
}

output "executors_fit_executor_nodes" {
  value = provider::dataplatform::tolerates(local.executor_placement, local.executor_placement.taints) # true
}

output "drivers_fit_executor_nodes" {
  value = provider::dataplatform::tolerates(local.driver_placement, local.executor_placement.taints) # false
}

check "drivers_stay_off_spot" {
  assert {
    condition     = !provider::dataplatform::tolerates(local.driver_placement, local.executor_placement.taints)
    error_message = "Spark drivers must not tolerate the executors' spot nodes."
  }
}
