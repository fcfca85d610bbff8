#!/usr/bin/env python3
"""Seeds a sandbox: IAM roles, a VPC with three private subnets, and the `analytics` EKS
cluster. Prints the facts as JSON (and writes them with --json-out)."""
import argparse
import json

import boto3

ACCOUNT = "123456789012"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default="eu-central-1")
    ap.add_argument("--cluster", default="analytics")
    ap.add_argument("--version", default="1.29")
    ap.add_argument("--json-out")
    a = ap.parse_args()
    kw = dict(endpoint_url=a.endpoint, region_name=a.region, aws_access_key_id="testing",
              aws_secret_access_key="testing")
    iam = boto3.client("iam", **kw)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": ["eks.amazonaws.com", "ec2.amazonaws.com"]}, "Action": "sts:AssumeRole"}]})
    roles = {}
    for name in ["analytics-cluster", "analytics-nodes"]:
        try:
            roles[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        except iam.exceptions.EntityAlreadyExistsException:
            roles[name] = iam.get_role(RoleName=name)["Role"]["Arn"]
    ec2 = boto3.client("ec2", **kw)
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=f"{a.region}{z}")
               ["Subnet"]["SubnetId"] for i, z in enumerate("abc")]
    eks = boto3.client("eks", **kw)
    if a.cluster not in eks.list_clusters()["clusters"]:
        eks.create_cluster(name=a.cluster, version=a.version, roleArn=roles["analytics-cluster"],
                           resourcesVpcConfig={"subnetIds": subnets})
    cluster = eks.describe_cluster(name=a.cluster)["cluster"]
    facts = {"endpoint": a.endpoint, "region": a.region, "cluster_name": a.cluster,
             "cluster_endpoint": cluster.get("endpoint"), "cluster_version": cluster.get("version"),
             "node_role_arn": roles["analytics-nodes"], "vpc_id": vpc, "subnet_ids": subnets}
    text = json.dumps(facts, indent=2)
    if a.json_out:
        with open(a.json_out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
