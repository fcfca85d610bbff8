terraform {
  required_version = ">= 1.0"
  required_providers {
    dataplatform = {
      source = "registry.terraform.io/dataplatform/dataplatform"
    }
  }
}
