"""Server-rendered console for reviewers and operators (SPEC §8): sign-in and the workflow run pages.

Approval pages live in the approvals app and are mounted here under the same ``console`` namespace.
"""
