# nodegroup unknown repair action
# expect: Replace
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
    enabled = true
    node_repair_config_overrides {
      node_monitoring_condition = "AcceleratedHardwareReady"
      node_unhealthy_reason     = "NvidiaXID13Error"
      min_repair_wait_time_mins = 10
      repair_action             = "Restart"  # <-
    }
  }
}
