# nodegroup repair threshold as a count and a percentage
# expect: max_unhealthy_node_threshold_count cannot be set with
resource "dataplatform_nodegroup" "x" {
  cluster_name  = "analytics"
  name          = "gpu"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = ["subnet-1"]
  scaling_config {
    min_size = 0
    max_size = 3
  }
  node_repair_config {
    enabled                                 = true
    max_unhealthy_node_threshold_count      = 2  # <-
    max_unhealthy_node_threshold_percentage = 20
  }
}
