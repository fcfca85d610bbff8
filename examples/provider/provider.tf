terraform {
  required_providers {
    dataplatform = {
      source = "registry.terraform.io/dataplatform/dataplatform"
    }
  }
}

# Credentials come from the usual AWS sources (environment, shared files, instance role).
provider "dataplatform" {
  region = "eu-central-1"

  assume_role {
    role_arn     = "arn:aws:iam::123456789012:role/data-platform"
    session_name = "terraform"
  }

  default_tags {
    tags = {
      team        = "data-engineering"
      environment = "production"
    }
  }
}
