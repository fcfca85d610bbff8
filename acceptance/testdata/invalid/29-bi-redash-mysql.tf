# bi redash mysql
# expect: PostgreSQL
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "redash"
  database {
    type     = "mysql"  # <-
    host     = "db.example.com"
    name     = "app"
    username = "app"
    password = "secret-pass"
  }
  secrets {
    secret_key    = "0123456789abcdef"
    cookie_secret = "0123456789abcdef"
    redis_url     = "redis://r:6379"
  }
}
