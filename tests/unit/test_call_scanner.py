"""The scanner that derives the IAM actions and Slack scopes from the code finds calls in
every form the code writes them."""

from tests.support.calls import iam_action, scan_source, slack_method

SOURCE = """
class Provisioner:
    def run(self, name):
        self.iam.create_user(UserName=name, Path="/onboarding/")
        for page in self.iam.get_paginator("list_access_keys").paginate(UserName=name):
            pass
        self.iam.get_waiter("user_exists").wait(UserName=name)
        try:
            self.iam.create_login_profile(UserName=name, Password="x")
        except self.iam.exceptions.EntityAlreadyExistsException:
            pass
        return sts_client.get_caller_identity()

def notify(client, notifier):
    client.views_open(trigger_id="t", view={})
    notifier._call("chat.update", notifier.client.chat_update, channel="C")
    client.retry_handlers.append(None)
    return client.users_info(user="U1")["user"]
"""


def test_finds_direct_calls_paginators_waiters_and_bound_methods() -> None:
    calls = scan_source(SOURCE)
    assert sorted(iam_action(c) for c in calls if c.service != "slack") == [
        "iam:CreateLoginProfile",
        "iam:CreateUser",
        "iam:GetUser",
        "iam:ListAccessKeys",
        "sts:GetCallerIdentity",
    ]
    assert sorted(slack_method(c) for c in calls if c.service == "slack") == [
        "chat.update",
        "users.info",
        "views.open",
    ]
