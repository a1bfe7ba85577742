from __future__ import annotations

from kyc import roles


def navigation(request):
    """Role flags for the navigation bar, computed once per request."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_can_work_cases": roles.can_work_cases(user),
        "user_can_review": roles.can_review(user),
        "user_can_administer": roles.can_administer(user),
    }
