# nodegroup too many taints
# expect: No more than 50
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
    key    = "k0"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k1"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k2"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k3"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k4"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k5"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k6"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k7"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k8"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k9"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k10"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k11"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k12"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k13"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k14"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k15"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k16"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k17"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k18"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k19"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k20"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k21"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k22"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k23"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k24"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k25"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k26"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k27"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k28"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k29"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k30"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k31"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k32"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k33"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k34"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k35"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k36"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k37"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k38"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k39"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k40"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k41"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k42"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k43"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k44"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k45"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k46"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k47"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k48"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k49"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "k50"
    effect = "NO_SCHEDULE"
  }
}
