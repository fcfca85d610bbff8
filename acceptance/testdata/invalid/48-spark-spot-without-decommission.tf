# spark spot without decommission
# expect: Spot executors without decommissioning
locals {
  driver = {
    node_selector = { purpose = "spark-driver" }
    tolerations   = [{ key = "purpose", operator = "Equal", value = "spark-driver", effect = "NoSchedule" }]
    labels        = { purpose = "spark-driver" }
    taints        = [{ key = "purpose", value = "spark-driver", effect = "NoSchedule" }]
    capacity_type = "ON_DEMAND"
    local_storage = false
  }
  executor = {
    node_selector = { purpose = "spark-executor" }
    tolerations   = [{ key = "purpose", operator = "Equal", value = "spark-executor", effect = "NoSchedule" }]
    labels        = { purpose = "spark-executor" }
    taints        = [{ key = "purpose", value = "spark-executor", effect = "NoSchedule" }]
    capacity_type = "SPOT"
    local_storage = false
  }
}

resource "dataplatform_spark_pool" "x" {
  name = "etl"
  decommission = false  # <-
  driver {
    placement = local.driver
  }
  executor {
    placement = local.executor
  }
}
