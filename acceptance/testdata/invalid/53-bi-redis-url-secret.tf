# bi redis url read from a file: its password must not be shown
# expect: the value has a trailing newline
# absent: s3cr3t-acc-redis
locals {
  # As file() reads it, with the trailing newline.
  redis_url = "redis://default:s3cr3t-acc-redis@cache.example.com:6379/0\n"
}

resource "dataplatform_bi_service" "x" {
  name   = "superset"
  engine = "superset"
  database {
    type     = "postgres"
    host     = "db.example.com"
    name     = "superset"
    username = "superset"
    password = "superset-db-password"
  }
  secrets {
    secret_key = "0123456789abcdef0123"
    redis_url  = local.redis_url  # <-
  }
}
