"""The hand-offs' part of the pin's page (mapideas.pins.page): for the pin's team, the form to
hand the pin to an outside body and its hand-offs with their review forms."""

from django.http import HttpRequest

from mapideas.handoffs import selectors, services
from mapideas.handoffs.forms import HandoffApproveForm, HandoffForm, HandoffReturnForm
from mapideas.models import Idea
from mapideas.pins.roles import can_see_internal, can_work_on


def handoff_context(request: HttpRequest, idea: Idea, forms: dict) -> dict:
    user = request.user
    if not can_see_internal(user, idea):
        return {}
    handoffs = list(selectors.idea_handoffs(idea=idea))
    works = can_work_on(user, idea)
    active = next((h for h in handoffs if h.state in services.ACTIVE_STATES), None)
    context: dict = {"handoffs": handoffs, "active_handoff": active, "may_hand_off": works}
    if works and active is None and idea.is_open:
        context["handoff_form"] = forms.get("handoff_form") or HandoffForm()
    if works and active is not None and active.state == services.State.REPORTED:
        context["approve_form"] = forms.get("approve_form") or HandoffApproveForm(
            initial={"answer": services.default_answer(active)}
        )
        context["return_form"] = forms.get("return_form") or HandoffReturnForm()
    return context
