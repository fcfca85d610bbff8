# bi service JVM options for an engine without a JVM
# expect: runs no JVM
resource "dataplatform_bi_service" "x" {
  name      = "redash"
  engine    = "redash"
  java_opts = "-Xmx1g"  # <-
}
