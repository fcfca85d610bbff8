# The seed's Spark node groups: drivers on demand, executors on spot with local NVMe.
resource "dataplatform_nodegroup" "spark_driver" {
  cluster_name  = "analytics"
  name          = "spark-drivers"
  purpose       = "spark-driver"
  node_role_arn = "arn:aws:iam::123456789012:role/analytics-nodes"
  subnet_ids    = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
  scaling_config {
    min_size = 0
    max_size = 10
  }
}

resource "dataplatform_nodegroup" "spark_executor" {
  cluster_name   = "analytics"
  name           = "spark-executors"
  purpose        = "spark-executor" # tainted, spot, r5d/r5dn
  node_role_arn  = "arn:aws:iam::123456789012:role/analytics-nodes"
  subnet_ids     = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
  instance_types = ["r5d.2xlarge", "r5dn.2xlarge"]
  scaling_config {
    min_size = 0
    max_size = 50
  }
}

# Where the ETL team's jobs run. Placement is checked against the node groups at plan time;
# decommissioning is on because the executors run on spot.
resource "dataplatform_spark_pool" "etl" {
  cluster_name     = "analytics"
  name             = "etl"
  create_namespace = true # a namespace of its own; leave out to deploy into an existing one
  image            = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/analytics/spark:3.5.3"

  driver {
    placement = dataplatform_nodegroup.spark_driver.placement
    memory    = "4g"
    # The jobs' S3 access. IRSA here: the Spark 3.5 image's AWS SDK v1 bundle predates EKS
    # Pod Identity (the default mechanism, for Spark 4 images).
    iam {
      role_arn  = "arn:aws:iam::123456789012:role/spark-etl"
      mechanism = "irsa"
    }
  }

  executor {
    placement  = dataplatform_nodegroup.spark_executor.placement
    cores      = 4
    memory     = "24g"
    local_dirs = ["/mnt/nvme0"] # emptyDir on the executor group's instance-store NVMe
    iam {
      role_arn  = "arn:aws:iam::123456789012:role/spark-etl"
      mechanism = "irsa"
    }
  }

  dynamic_allocation {
    max_executors = 200
  }

  quota {
    cpu    = "800"
    memory = "6Ti"
  }

  spark_operator {}

  # Failed jobs can be inspected after their pods are gone.
  event_log {
    dir = "s3a://analytics-lake/spark-events"
  }

  # Their UI, read from those logs, behind the ALB the BI services share.
  history_server {
    placement = dataplatform_nodegroup.spark_driver.placement
    ingress {
      host       = "spark-history.analytics.example.com"
      group_name = "analytics"
    }
  }

  conf = {
    "spark.sql.adaptive.enabled" = "true"
  }
}

# For spark-submit or Airflow's SparkSubmitOperator: mount the ConfigMap etl-pod-templates
# at pod_template_dir where spark-submit runs, and pass these settings as --conf.
output "etl_spark_conf" {
  value = dataplatform_spark_pool.etl.spark_conf
}

output "etl_history_server_url" {
  value = dataplatform_spark_pool.etl.history_server_url
}
