variable "region" {
  description = "AWS region of the cluster."
  type        = string
  default     = "eu-central-1"
}

variable "cluster_name" {
  description = "The EKS cluster."
  type        = string
  default     = "analytics"
}

variable "node_role_arn" {
  description = "IAM role of the nodes."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the nodes."
  type        = list(string)
}

variable "metabase_database_password" {
  description = "Password of Metabase's database user."
  type        = string
  sensitive   = true
}
