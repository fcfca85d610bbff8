variable "cluster_name" {
  description = "EKS cluster to build the environment in."
  type        = string
  validation {
    condition     = can(regex("^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$", var.cluster_name))
    error_message = "The cluster name must be an EKS cluster name (letters, digits, - and _, up to 100)."
  }
}

variable "environment" {
  description = "Short name of this environment (e.g. production, staging); prefixes node groups and namespaces so several environments share a cluster."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "The environment must be a lowercase name of up to 16 characters (a-z, 0-9, -)."
  }
}

variable "node_role_arn" {
  description = "IAM role the nodes run as."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.node_role_arn))
    error_message = "The node role must be an IAM role ARN."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the nodes."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "Give at least one subnet."
  }
}

variable "infra_instance_type" {
  description = "Instance type of the infrastructure node group (BI tools, controllers)."
  type        = string
  default     = "m6i.2xlarge"
}

variable "infra_size" {
  description = "Minimum and maximum size of the infrastructure group (the seed: 1 to 7)."
  type        = object({ min = number, max = number })
  default     = { min = 1, max = 7 }
  validation {
    condition     = var.infra_size.min >= 0 && var.infra_size.min <= var.infra_size.max
    error_message = "The infrastructure group needs 0 <= min <= max."
  }
}

variable "driver_size" {
  description = "Minimum and maximum size of the Spark driver group (on demand: losing a driver fails the job)."
  type        = object({ min = number, max = number })
  default     = { min = 0, max = 10 }
  validation {
    condition     = var.driver_size.min >= 0 && var.driver_size.min <= var.driver_size.max
    error_message = "The driver group needs 0 <= min <= max."
  }
}

variable "executor_instance_types" {
  description = "Instance types of the Spark executor group: spot, with local NVMe (r5d/r5dn), all of one size."
  type        = list(string)
  default     = ["r5d.2xlarge", "r5dn.2xlarge"]
}

variable "executor_size" {
  description = "Minimum and maximum size of the Spark executor group."
  type        = object({ min = number, max = number })
  default     = { min = 0, max = 50 }
  validation {
    condition     = var.executor_size.min >= 0 && var.executor_size.min <= var.executor_size.max
    error_message = "The executor group needs 0 <= min <= max."
  }
}

variable "executor_local_storage" {
  description = "Stripe the executor nodes' instance-store NVMe disks under the kubelet's root (needs instance types with instance store). Null: on when every executor instance type has instance store."
  type        = bool
  default     = null
}

variable "executor_local_dirs" {
  description = "Spark's local dirs for shuffle and spill: emptyDir volumes on the NVMe when the executor group has local storage."
  type        = list(string)
  default     = ["/mnt/nvme0"]
}

variable "spark_image" {
  description = "Spark image for drivers and executors."
  type        = string
  default     = "apache/spark:3.5.3"
}

variable "spark_event_log_dir" {
  description = "Where Spark applications write their event logs (s3a://bucket/prefix); empty: no event logs and no History Server."
  type        = string
  default     = ""
}

variable "spark_history_host" {
  description = "Host name of the Spark History Server's ingress; empty: reachable in the cluster only."
  type        = string
  default     = ""
}

variable "spark_iam" {
  description = "IAM role of the Spark drivers and executors (the data lake's), with its mechanism: pod_identity (EKS Pod Identity association) or irsa (service-account annotation); null: the nodes' instance profile."
  type = object({
    role_arn  = string
    mechanism = string
  })
  default = null
}

variable "spark_history_iam" {
  description = "IAM role of the Spark History Server (read access to the event-log prefix), as spark_iam; null: the nodes' instance profile."
  type = object({
    role_arn  = string
    mechanism = string
  })
  default = null
}

variable "spark_executor" {
  description = "Executor cores and memory, and the upper bound of dynamic allocation."
  type        = object({ cores = number, memory = string, max_executors = number })
  default     = { cores = 4, memory = "24g", max_executors = 200 }
}

variable "metabase_image" {
  description = "Metabase image (the seed uses a copy in an internal registry)."
  type        = object({ repository = string, tag = string })
  default     = { repository = "metabase/metabase", tag = "v0.50.36" }
}

variable "metabase_image_pull_secrets" {
  description = "Secrets in the Metabase namespace to pull its image with (an internal registry)."
  type        = list(string)
  default     = []
}

variable "metabase_iam" {
  description = "IAM role of Metabase's pods (e.g. Athena or S3 data sources), as spark_iam; null: none."
  type = object({
    role_arn  = string
    mechanism = string
  })
  default = null
}

variable "metabase_encryption_key_secret" {
  description = "The existing Secret and key holding MB_ENCRYPTION_SECRET_KEY; null: connection details are stored unencrypted."
  type = object({
    name = string
    key  = string
  })
  default = null
}

variable "metabase_database" {
  description = "Metabase's application database (e.g. MySQL on RDS)."
  type        = object({ type = string, host = string, name = string, username = string })
  validation {
    condition     = contains(["mysql", "postgres"], var.metabase_database.type)
    error_message = "The database type must be mysql or postgres."
  }
}

variable "metabase_ingress" {
  description = "Host name of Metabase, the ALB group shared by the analytics services, and the ACM certificate (null for HTTP)."
  type        = object({ host = string, alb_group = string, certificate_arn = string })
}

variable "metabase_database_password" {
  description = "Password of the Metabase database user."
  type        = string
  sensitive   = true
}

variable "monitoring" {
  description = "Create ServiceMonitor and PrometheusRule objects (needs the Prometheus Operator in the cluster)."
  type        = bool
  default     = true
}
