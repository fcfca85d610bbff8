# cluster_name may be left out when the provider names the cluster.
import {
  to       = dataplatform_spark_pool.etl
  identity = { cluster_name = "analytics", namespace = "etl", name = "etl" }
}
