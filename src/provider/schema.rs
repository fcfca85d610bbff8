//! The provider configuration schema: AWS connection (region, profile, assume role, private
//! endpoints), default tags, and how to reach Kubernetes.

use crate::framework::rules::Rule;
use crate::framework::schema::{Attribute, Block, NestedBlock, Schema};
use crate::framework::validators::{
    self, each, matches, size_between, string_length, HttpUrl, PemCertificate,
};
use crate::value::Type;

pub const REGION_PATTERN: &str = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$";
pub const ROLE_ARN_PATTERN: &str =
    r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$";
pub const SESSION_NAME_PATTERN: &str = r"^[A-Za-z0-9+=,.@_-]{2,64}$";
pub const EXTERNAL_ID_PATTERN: &str = r"^[A-Za-z0-9+=,.@:/_-]{2,1224}$";
pub const TAG_KEY_PATTERN: &str = r"^[^\x00-\x1f]{1,128}$";

pub fn schema() -> Schema {
    Schema::new(
        0,
        Block::new()
            .description(
                "Declares a Spark-on-EKS data platform: EKS managed node groups separated by purpose, \
                 BI services and Spark pools, handed over to the controllers inside the cluster.\n\n\
                 The provider talks to AWS (EKS, Auto Scaling, STS) and to the cluster's Kubernetes API. \
                 Configuration does no network I/O: clients are built when first used, so a plan works \
                 before the cluster exists.",
            )
            .attribute(
                Attribute::optional("region", Type::String)
                    .description(
                        "AWS region, e.g. `eu-central-1`. Defaults to `AWS_REGION` / `AWS_DEFAULT_REGION` \
                         or the profile's region.",
                    )
                    .validator(matches(REGION_PATTERN, "an AWS region name such as \"eu-central-1\"")),
            )
            .attribute(
                Attribute::optional("cluster_name", Type::String)
                    .description(
                        "EKS cluster the Kubernetes resources deploy into when they do not name one and no \
                         `kubernetes` block is given. The provider connects with DescribeCluster and an IAM token \
                         at apply time, so the cluster may be created in the same apply.",
                    )
                    .validator(matches(
                        r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$",
                        "an EKS cluster name (letters, digits, - and _, up to 100)",
                    )),
            )
            .attribute(
                Attribute::optional("profile", Type::String)
                    .description(
                        "Named profile from the shared AWS config and credentials files. Defaults to `AWS_PROFILE`. \
                         Without either, credentials come from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, the \
                         default profile of `shared_config_files`, a web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` and \
                         `AWS_ROLE_ARN`, as HCP Terraform's dynamic credentials set them), the shared files' default \
                         profile, the container or the instance, in that order.",
                    )
                    .validator(string_length(1, 128)),
            )
            .attribute(
                Attribute::optional("shared_config_files", Type::List(Box::new(Type::String)))
                    .description(
                        "Shared AWS config files to read instead of `AWS_CONFIG_FILE` or `~/.aws/config`, as in the AWS \
                         provider. In HCP Terraform, `[var.tfc_aws_dynamic_credentials.default.shared_config_file]` (or an \
                         alias's) gives the provider the run's dynamic credentials: a profile with a web identity token \
                         file and a role.",
                    )
                    .validator(size_between(1, 10))
                    .validator(each(string_length(1, 4096))),
            )
            .attribute(
                Attribute::optional("max_retries", Type::Number)
                    .description(format!(
                        "How many times an AWS call is retried after a throttling answer, a server error or a \
                         lost connection, with exponential backoff (up to 20 s between attempts). Defaults to \
                         `AWS_MAX_ATTEMPTS` minus one, or {}, as the AWS provider does. Each resource's \
                         `timeouts` still bound its whole operation.",
                        crate::clients::aws::DEFAULT_MAX_RETRIES
                    ))
                    .validator(validators::int_between(0, 100)),
            )
            .block(
                NestedBlock::single(
                    "assume_role",
                    Block::new()
                        .description("An IAM role to assume for every AWS call.")
                        .attribute(
                            Attribute::required("role_arn", Type::String)
                                .description("ARN of the role to assume.")
                                .validator(matches(
                                    ROLE_ARN_PATTERN,
                                    "an IAM role ARN such as \"arn:aws:iam::123456789012:role/platform\"",
                                )),
                        )
                        .attribute(
                            Attribute::optional("session_name", Type::String)
                                .description("Session name recorded in CloudTrail. Default `terraform-provider-dataplatform`.")
                                .validator(matches(
                                    SESSION_NAME_PATTERN,
                                    "2 to 64 characters of letters, digits and +=,.@_-",
                                )),
                        )
                        .attribute(
                            Attribute::optional("external_id", Type::String)
                                .description("External id the role's trust policy requires.")
                                .sensitive()
                                .validator(matches(
                                    EXTERNAL_ID_PATTERN,
                                    "2 to 1224 characters of letters, digits and +=,.@:/_-",
                                )),
                        ),
                ),
            )
            .block(
                NestedBlock::single(
                    "endpoints",
                    Block::new()
                        .description("Custom service endpoints: VPC interface endpoints, or a local sandbox.")
                        .attribute(endpoint("eks", "EKS"))
                        .attribute(endpoint("autoscaling", "EC2 Auto Scaling"))
                        .attribute(endpoint("ec2", "EC2").description(
                            "Endpoint URL for EC2: the launch templates node groups with `local_storage` own, and \
                             the instance types' instance-store sizes.",
                        ))
                        .attribute(endpoint("sts", "STS").description(
                            "Endpoint URL for STS: assuming `assume_role`'s role, and exchanging a web identity token \
                             from `AWS_WEB_IDENTITY_TOKEN_FILE` for `AWS_ROLE_ARN`'s credentials.",
                        )),
                ),
            )
            .block(
                NestedBlock::single(
                    "default_tags",
                    Block::new()
                        .description("Tags added to every AWS object the provider creates; a resource's own tags win on conflict.")
                        .attribute(
                            Attribute::optional("tags", Type::Map(Box::new(Type::String)))
                                .description("Tag keys and values.")
                                .validator(validators::size_between(0, 50)),
                        ),
                ),
            )
            .block(
                NestedBlock::single(
                    "kubernetes",
                    Block::new()
                        .description(
                            "How to reach the cluster's Kubernetes API. When left out, resources connect to the EKS \
                             cluster they name, with an IAM token, at apply time.",
                        )
                        .attribute(
                            Attribute::optional("host", Type::String)
                                .description("API server URL, e.g. `https://ABC.gr7.eu-central-1.eks.amazonaws.com`.")
                                .validator(HttpUrl),
                        )
                        .attribute(
                            Attribute::optional("token", Type::String)
                                .description("Bearer token for the API server.")
                                .sensitive(),
                        )
                        .attribute(
                            Attribute::optional("cluster_ca_certificate", Type::String)
                                .description("PEM-encoded CA certificate of the API server.")
                                .validator(PemCertificate),
                        )
                        .attribute(
                            Attribute::optional("config_path", Type::String)
                                .description("Path to a kubeconfig file, used instead of `host`.")
                                .validator(string_length(1, 4096)),
                        )
                        .attribute(
                            Attribute::optional("config_context", Type::String)
                                .description("Context of the kubeconfig to use. Defaults to its current context.")
                                .validator(string_length(1, 253)),
                        )
                        .attribute(
                            Attribute::optional("insecure", Type::Bool)
                                .description("Skip verification of the API server's certificate. For local sandboxes only."),
                        )
                        .rule(Rule::conflicts_with("config_path", &["host"]).message(
                            "Conflicting Kubernetes settings",
                            "Set either host (with token and cluster_ca_certificate) or config_path, not both.",
                        ))
                        .rule(
                            Rule::required_with("config_context", &["config_path"])
                                .message("Missing kubeconfig", "config_context needs config_path."),
                        )
                        .rule(Rule::required_with("token", &["host"]).message(
                            "Missing API server",
                            "token needs host: the API server it belongs to.",
                        ))
                        .rule(Rule::required_with("cluster_ca_certificate", &["host"]).message(
                            "Missing API server",
                            "cluster_ca_certificate needs host: the API server it belongs to.",
                        )),
                ),
            ),
    )
}

fn endpoint(name: &str, service: &str) -> Attribute {
    Attribute::optional(name, Type::String)
        .description(format!("Endpoint URL for {service}."))
        .validator(HttpUrl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_well_formed() {
        assert_eq!(schema().check(), Vec::<String>::new());
    }

    #[test]
    fn patterns_accept_and_reject() {
        let region = regex::Regex::new(REGION_PATTERN).unwrap();
        for ok in [
            "eu-central-1",
            "us-east-1",
            "us-gov-west-1",
            "ap-southeast-4",
        ] {
            assert!(region.is_match(ok), "{ok}");
        }
        for bad in [
            "",
            "eu-central",
            "EU-CENTRAL-1",
            "eu central 1",
            "eu-central-1a",
        ] {
            assert!(!region.is_match(bad), "{bad}");
        }
        let arn = regex::Regex::new(ROLE_ARN_PATTERN).unwrap();
        assert!(arn.is_match("arn:aws:iam::123456789012:role/platform"));
        assert!(arn.is_match("arn:aws-cn:iam::123456789012:role/path/to/role"));
        assert!(!arn.is_match("arn:aws:iam::1234:role/x"));
        assert!(!arn.is_match("arn:aws:s3:::bucket"));
    }
}
