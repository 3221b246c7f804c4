"""The least-privilege IAM policy the bot itself runs with, generated from its config.

Pure: config in, policy document out. Every action the bot calls is listed by name (no
wildcards) and scoped to the narrowest resource IAM allows for it:

- users: only under `aws.iam_path` (`arn:aws:iam::<account>:user<iam_path>*`);
- group membership: only the groups some profile grants;
- attaching managed policies: only the policies some profile grants (`iam:PolicyARN`);
- with `aws.permissions_boundary`, users can only be created with that boundary;
- a few read-only, account-level calls that IAM cannot scope (`Resource: "*"`).
"""

from __future__ import annotations

import json
from typing import Any

from bot.domain.config import BotConfig

# Actions on the users the bot creates (resource type: user).
USER_ACTIONS = (
    "iam:CreateUser",
    "iam:GetUser",
    "iam:TagUser",
    "iam:ListUserTags",
    "iam:DeleteUser",
    "iam:CreateLoginProfile",
    "iam:GetLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:DeleteLoginProfile",
    "iam:ListGroupsForUser",
    "iam:ListAttachedUserPolicies",
    "iam:CreateAccessKey",
    "iam:ListAccessKeys",
    "iam:DeleteAccessKey",
    # Roll back clears what would block DeleteUser: inline policies and MFA devices.
    "iam:ListUserPolicies",
    "iam:DeleteUserPolicy",
    "iam:ListMFADevices",
    "iam:DeactivateMFADevice",
)
# Revoke (flow 6, bot/aws/revoke.py): what `disable` deactivates and `delete` removes
# before DeleteUser, on the bot's own users only.
REVOKE_USER_ACTIONS = (
    "iam:UpdateAccessKey",
    "iam:ListSigningCertificates",
    "iam:UpdateSigningCertificate",
    "iam:DeleteSigningCertificate",
    "iam:ListSSHPublicKeys",
    "iam:UpdateSSHPublicKey",
    "iam:DeleteSSHPublicKey",
    "iam:ListServiceSpecificCredentials",
    "iam:DeleteServiceSpecificCredential",
    # Key rotation (flow 6, bot/aws/rotation.py) and access reviews (bot/aws/usage.py):
    # whether a key of the bot's own users has been used.
    "iam:GetAccessKeyLastUsed",
)
# Deleting a virtual MFA device (resource type: mfa). IAM refuses to delete one still
# assigned to a user, and deactivating it is scoped to the bot's users above, so this
# reaches no other user's device in use.
MFA_ACTIONS = ("iam:DeleteVirtualMFADevice",)
# Attaching/detaching managed policies (resource type: user; condition iam:PolicyARN).
POLICY_ATTACH_ACTIONS = ("iam:AttachUserPolicy", "iam:DetachUserPolicy")
# Group membership and the group look-up of `check` (resource type: group).
GROUP_ACTIONS = ("iam:AddUserToGroup", "iam:RemoveUserFromGroup", "iam:GetGroup")
# Policy look-up of `check` (resource type: policy).
POLICY_READ_ACTIONS = ("iam:GetPolicy",)
# Read-only calls IAM does not scope to a resource.
ACCOUNT_ACTIONS = (
    "sts:GetCallerIdentity",
    "iam:GetAccountPasswordPolicy",
    "iam:ListAccountAliases",
    "iam:ListUsers",
)

ALL_ACTIONS = (
    USER_ACTIONS + POLICY_ATTACH_ACTIONS + GROUP_ACTIONS + POLICY_READ_ACTIONS + ACCOUNT_ACTIONS
)
ALL_ACTIONS = tuple(dict.fromkeys(ALL_ACTIONS + REVOKE_USER_ACTIONS + MFA_ACTIONS))

ANY_ACCOUNT = "*"


def user_arn_pattern(iam_path: str, account: str = ANY_ACCOUNT, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:user{iam_path}*"


def group_arns(group: str, account: str = ANY_ACCOUNT, partition: str = "aws") -> list[str]:
    # The config names groups without their path; a group may live under one.
    return [
        f"arn:{partition}:iam::{account}:group/{group}",
        f"arn:{partition}:iam::{account}:group/*/{group}",
    ]


def bot_policy(config: BotConfig, account_id: str = ANY_ACCOUNT) -> dict[str, Any]:
    """The IAM policy document (a dict ready for json.dumps) for this config."""
    users = user_arn_pattern(config.aws.iam_path, account_id)
    boundary = config.aws.permissions_boundary
    groups = sorted({g for p in config.profiles for g in p.groups})
    policies = sorted({arn for p in config.profiles for arn in p.policies})

    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountReadOnly",
            "Effect": "Allow",
            "Action": list(ACCOUNT_ACTIONS),
            "Resource": "*",
        }
    ]
    user_actions = [
        a
        for a in dict.fromkeys(USER_ACTIONS + REVOKE_USER_ACTIONS)
        if not (boundary and a == "iam:CreateUser")
    ]
    statements.append(
        {
            "Sid": "ManageOnboardedUsers",
            "Effect": "Allow",
            "Action": user_actions,
            "Resource": users,
        }
    )
    statements.append(
        {
            "Sid": "DeleteVirtualMfaDevices",
            "Effect": "Allow",
            "Action": list(MFA_ACTIONS),
            "Resource": f"arn:aws:iam::{account_id}:mfa/*",
        }
    )
    if boundary:
        statements.append(
            {
                "Sid": "CreateUsersOnlyWithBoundary",
                "Effect": "Allow",
                "Action": ["iam:CreateUser"],
                "Resource": users,
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}},
            }
        )
    if groups:
        statements.append(
            {
                "Sid": "ProfileGroups",
                "Effect": "Allow",
                "Action": list(GROUP_ACTIONS),
                "Resource": [arn for g in groups for arn in group_arns(g, account_id)],
            }
        )
    if policies:
        statements.append(
            {
                "Sid": "AttachProfilePolicies",
                "Effect": "Allow",
                "Action": list(POLICY_ATTACH_ACTIONS),
                "Resource": users,
                "Condition": {"ArnEquals": {"iam:PolicyARN": policies}},
            }
        )
    readable = sorted(set(policies) | ({boundary} if boundary else set()))
    if readable:
        statements.append(
            {
                "Sid": "ReadProfilePolicies",
                "Effect": "Allow",
                "Action": list(POLICY_READ_ACTIONS),
                "Resource": readable,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def render_policy(config: BotConfig, account_id: str = ANY_ACCOUNT) -> str:
    return json.dumps(bot_policy(config, account_id), indent=2) + "\n"
