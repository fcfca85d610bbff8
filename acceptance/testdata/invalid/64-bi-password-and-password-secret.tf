# bi database password given and taken from a Secret
# expect: not both
# absent: s3cr3t-given-pass
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  database {
    type     = "postgres"
    host     = "db.example.com"
    name     = "app"
    username = "app"
    password = "s3cr3t-given-pass"
    password_secret {  # <-
      name = "rds-master"
      key  = "password"
    }
  }
}
