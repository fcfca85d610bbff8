# bi service PostgreSQL sslmode on a MySQL database
# expect: ssl sets PostgreSQL's sslmode
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  database {
    type     = "mysql"
    host     = "metabase.abc123.eu-central-1.rds.amazonaws.com"
    name     = "metabase"
    username = "metabase"
    password = "not-a-real-password"
    ssl      = "require"  # <-
  }
}
