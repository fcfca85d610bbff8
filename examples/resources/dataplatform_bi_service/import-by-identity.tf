# cluster_name may be left out when the provider names the cluster.
import {
  to       = dataplatform_bi_service.metabase
  identity = { cluster_name = "analytics", namespace = "metabase", name = "metabase" }
}
