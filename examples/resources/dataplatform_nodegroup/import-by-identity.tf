import {
  to       = dataplatform_nodegroup.spark_executor
  identity = { cluster_name = "analytics", name = "spark-executors" }
}
