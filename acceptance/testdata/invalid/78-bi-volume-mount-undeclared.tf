# bi service mount naming no declared volume
# expect: No volume of extra_volumes
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  extra_volumes {
    name       = "plugins"
    empty_dir  = true
  }
  extra_volume_mounts {
    name       = "drivers"  # <-
    mount_path = "/plugins"
  }
}
