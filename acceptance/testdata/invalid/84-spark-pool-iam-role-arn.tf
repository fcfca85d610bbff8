# spark pool driver iam given a user ARN instead of a role ARN
# expect: an IAM role ARN
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
  driver {
    placement = local.driver
    iam {
      role_arn = "arn:aws:iam::123456789012:user/spark"  # <-
    }
  }
  executor {
    placement = local.executor
  }
}
