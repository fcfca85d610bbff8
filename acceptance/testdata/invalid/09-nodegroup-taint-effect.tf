# nodegroup taint effect
# expect: NO_SCHEDULE
resource "dataplatform_nodegroup" "x" {
  cluster_name  = "analytics"
  name          = "infra"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = ["subnet-1"]
  scaling_config {
    min_size = 1
    max_size = 3
  }
  taint {
    key    = "dedicated"
    effect = "NoSchedule"  # <-
  }
}
