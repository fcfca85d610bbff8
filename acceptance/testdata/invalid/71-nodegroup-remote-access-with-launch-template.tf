# nodegroup remote access with a launch template
# expect: remote_access cannot be set with a launch_template
resource "dataplatform_nodegroup" "x" {
  cluster_name  = "analytics"
  name          = "infra"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = ["subnet-1"]
  scaling_config {
    min_size = 1
    max_size = 3
  }
  launch_template {
    name    = "nodes"
    version = "1"
  }
  remote_access {
    ec2_ssh_key = "ops"  # <-
  }
}
