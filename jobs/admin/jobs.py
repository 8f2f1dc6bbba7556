"""The job admin: list, form with schedule rows, actions, "Run now", preview.

A job is saved with its schedules through `jobs.services.jobs.job_save`, which
validates, replaces the schedules and recomputes `next_run_at`; the "Run now"
button queues through `jobs.services.runs.job_run_now`, the "Run selected
jobs now" action as one batch through `jobs.services.batch_runs.jobs_run_now`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.forms import BaseFormSet, ModelForm
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.selectors import people
from jobportal import clock
from jobs import permissions as perms
from jobs import priorities
from jobs import schedule as engine
from jobs.admin.access import JobAccessMixin, ScheduleAccessMixin, actor_ip
from jobs.admin.dependencies import DependencyFormSet, JobDependencyInline
from jobs.admin.display import (
    count_jobs,
    fire_times_or_note,
    format_duration,
    instant_html,
    status_badge,
    zone_or_utc,
)
from jobs.admin.filters import LastRunStatusFilter, ScheduleTypeFilter
from jobs.admin.grants import JobGrantsMixin
from jobs.admin.job_form import (
    NOTE_FIELD,
    Fieldsets,
    JobFormRights,
    job_fieldsets,
    job_readonly_fields,
    with_change_note,
)
from jobs.admin.job_security import JobRunParametersMixin
from jobs.admin.live import JobRecentRunsMixin
from jobs.admin.pipeline import JobPipelineMixin, pipeline_svg
from jobs.admin.run_parameters import JobParameterFormSet, JobParameterInline
from jobs.admin.schedule_preview import JobSchedulePreviewMixin
from jobs.admin.script_blocks import (
    attach_script_blocks,
    block_badge,
    block_banner,
    review_link,
)
from jobs.admin.script_display import with_script_dropdown
from jobs.admin.timeline import JobTimelineMixin
from jobs.admin.versions import JobVersionsMixin
from jobs.forms import (
    DOCUMENT_FIELDS,
    SCHEDULE_FIELDS,
    JobForm,
    ScheduleForm,
    ScheduleFormSet,
    SchedulePreviewForm,
    timezone_names,
    valid_timezone_or_default,
)
from jobs.models import Job, JobRun, Schedule
from jobs.presentation import fire_time_json
from jobs.schedule_text import describe_schedule, describe_schedules
from jobs.selectors import (
    blackout_calendars_for,
    job_recent_runs,
    job_script_block,
    job_upcoming_fire_times,
    jobs_with_last_run,
    schedule_fire_times,
)
from jobs.services.batch_runs import BatchItemError, jobs_run_now
from jobs.services.jobs import job_save, job_set_active
from jobs.services.runs import ScriptNotRunnableError, job_run_now

UPCOMING_COUNT = 5

MSG_ACTIVATED = "Activated {jobs}."
MSG_DEACTIVATED = "Deactivated {jobs}."
MSG_RUNS_QUEUED = "Queued a manual run of {jobs}."
MSG_RUN_QUEUED = "Queued manual run {run} of {job}."
MSG_RUN_REFUSED = "{job}: {error} ({link})"
# A script blocked between the check and the write: the batch is all or none.
MSG_RUNS_NOT_QUEUED = (
    "No run was queued: a script was blocked meanwhile. {error} "
    "Run the action again to queue the others."
)
MSG_INACTIVE = "The job is inactive: these times will not run until it is activated."
MSG_PREVIEW_PLACEHOLDER = "Fill in the schedule to preview its next fire times."


class ScheduleInline(ScheduleAccessMixin, admin.StackedInline):
    """A job's schedules, each edited as fields (see `ScheduleForm`)."""

    model = Schedule
    form = ScheduleForm
    formset = ScheduleFormSet
    min_num = 1
    extra = 0
    fields: ClassVar[tuple[str, ...]] = ("type", *DOCUMENT_FIELDS, "raw", "preview")
    readonly_fields = ("preview",)
    template = "admin/jobs/job/schedule_inline.html"
    view_only_fields = ("summary", "preview")

    class Media:
        js = ("jobs/schedule_form.js",)
        css: ClassVar[dict[str, tuple[str, ...]]] = {"all": ("jobs/admin.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Schedule]:
        """Load each schedule's job with it (the preview needs its zone)."""
        return super().get_queryset(request).select_related("job")

    def get_fields(
        self, request: HttpRequest, obj: Model | None = None
    ) -> tuple[str, ...]:
        """Show a summary instead of the editing fields to view-only users."""
        if isinstance(obj, Job) and not self.has_change_permission(request, obj):
            return self.view_only_fields
        return self.fields

    def get_readonly_fields(
        self, request: HttpRequest, obj: Model | None = None
    ) -> tuple[str, ...]:
        """Mark the computed fields read-only."""
        if isinstance(obj, Job) and not self.has_change_permission(request, obj):
            return self.view_only_fields
        return self.readonly_fields

    @admin.display(description="Schedule")
    def summary(self, schedule: Schedule) -> str:
        """Describe the schedule in words."""
        return describe_schedule(schedule.document, timezone=schedule.job.timezone)

    @admin.display(description="Next fire times")
    def preview(self, schedule: Schedule) -> SafeString:
        """Show the saved schedule's next fire times; the JS updates it live."""
        # A new row has a document once its form validated (a re-shown form).
        if not isinstance(schedule.document, dict):
            body = format_html(
                '<p class="jobs-preview-note">{}</p>', MSG_PREVIEW_PLACEHOLDER
            )
        else:
            try:
                fires = schedule_fire_times(
                    documents=[schedule.document],
                    timezone=schedule.job.timezone,
                    after=clock.now(),
                    count=UPCOMING_COUNT,
                )
            except engine.ScheduleError as exc:
                body = format_html('<p class="jobs-error">{}</p>', str(exc))
            else:
                body = fire_times_or_note(fires, zone=None)
        return format_html('<div class="jobs-preview">{}</div>', body)


@admin.register(Job)
class JobAdmin(
    JobAccessMixin,
    JobVersionsMixin,
    JobTimelineMixin,
    JobGrantsMixin,
    JobRunParametersMixin,
    JobSchedulePreviewMixin,
    JobRecentRunsMixin,
    JobPipelineMixin,
    admin.ModelAdmin,
):
    """Jobs: list with schedules in words, next and last run; form with schedules.

    The form's sections and read-only fields are `jobs.admin.job_form`'s
    table, read for the user's rights (`form_rights`); the mixins add the
    version, permission and run-parameter pages.
    """

    form = JobForm
    inlines = (ScheduleInline, JobDependencyInline, JobParameterInline)
    filter_horizontal = ("secrets", "blackout_calendars")
    list_display = (
        "name",
        "schedule_text",
        "next_run",
        "last_run",
        "priority_level",
        "runnable",
        "is_active",
    )
    list_filter = ("is_active", LastRunStatusFilter, ScheduleTypeFilter, "timezone")
    search_fields = ("name", "description", "script")
    actions = ("activate", "deactivate", "run_now")

    class Media:
        css: ClassVar[dict[str, tuple[str, ...]]] = {"all": ("jobs/admin.css",)}
        js = ("jobs/live_runs.js",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        """Annotate the latest run and prefetch schedules: no per-row queries."""
        return jobs_with_last_run(super().get_queryset(request))

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        """Offer people only as owners (not guardian's AnonymousUser)."""
        if db_field.name == "owner":
            kwargs["queryset"] = people().order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        """Decide once for the page's jobs whether their scripts may run."""
        changelist = super().get_changelist_instance(request)
        attach_script_blocks(changelist.result_list)
        return changelist

    def form_rights(self, request: HttpRequest, obj: Job | None) -> JobFormRights:
        """Return what the user may do with the job's form (the add form if None)."""
        user = request.user
        return JobFormRights(
            is_saved=obj is not None,
            may_save=(
                perms.can_add_job(user)
                if obj is None
                else perms.can_change_job(user, obj)
            ),
            may_change_owner=perms.can_change_job_owner(user, obj),
            may_choose_secrets=user.has_perm("jobs.change_secret"),
            may_manage_permissions=perms.can_manage_job_permissions(user),
        )

    def get_fieldsets(self, request: HttpRequest, obj: Job | None = None) -> Fieldsets:
        """Return the sections the user's rights show."""
        return job_fieldsets(self.form_rights(request, obj))

    def get_readonly_fields(
        self, request: HttpRequest, obj: Job | None = None
    ) -> tuple[str, ...]:
        """Return the fields the user's rights leave read-only."""
        return job_readonly_fields(self.form_rights(request, obj))

    def get_form(
        self,
        request: HttpRequest,
        obj: Job | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[ModelForm]:
        """Build the job form with the script dropdown and the change note."""
        # The note is no model field: leave it out of the model form, then
        # declare it on the result.
        fields = kwargs.get("fields")
        if fields is None:
            fields = flatten_fieldsets(self.get_fieldsets(request, obj))
        kwargs["fields"] = [f for f in fields if f != NOTE_FIELD]
        form = super().get_form(request, obj, change, **kwargs)
        form = with_script_dropdown(form, current=obj.script if obj else None)
        return with_change_note(form)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """Make the signed-in user the owner of a new job."""
        return {
            "owner": request.user.pk,
            **super().get_changeform_initial_data(request),
        }

    def get_formset_kwargs(
        self,
        request: HttpRequest,
        obj: Job,
        inline: admin.options.InlineModelAdmin,
        prefix: str,
    ) -> dict[str, Any]:
        """Tell the schedule forms the job's zone, as submitted or as saved."""
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, ScheduleInline):
            zone = obj.timezone
            if request.method == "POST":
                zone = request.POST.get("timezone", "").strip()
            kwargs["form_kwargs"] = {"job_timezone": valid_timezone_or_default(zone)}
        return kwargs

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Give the page's script the preview URL and each type's fields.

        Also tell the page whether to offer "Run now".
        """
        job = self.get_object(request, unquote(object_id)) if object_id else None
        context = {
            "jobs_can_run": job is not None and perms.can_run_job(request.user, job),
            "jobs_can_run_pipeline": job is not None
            and perms.can_run_pipeline(request.user, job),
            "jobs_pipeline_svg": pipeline_svg(request, job) if job else None,
            "jobs_script_block": self._block_banner(job),
            "jobs_recent_runs": [
                (run, format_duration(run.duration_seconds))
                for run in (job_recent_runs(job=job) if job else [])
            ],
            "jobs_all_runs_url": (
                f"{reverse('admin:jobs_jobrun_changelist')}?job__id__exact={job.pk}"
                if job
                else ""
            ),
            "jobs_schedule_config": {
                "previewUrl": reverse("admin:jobs_job_preview_schedule"),
                "fields": SCHEDULE_FIELDS,
            },
            "jobs_timezones": timezone_names(),
            **(extra_context or {}),
        }
        return super().changeform_view(request, object_id, form_url, context)

    def _block_banner(self, job: Job | None) -> SafeString | None:
        block = job_script_block(job=job) if job is not None else None
        return block_banner(block) if block is not None else None

    def save_model(
        self, request: HttpRequest, obj: Job, form: JobForm, change: bool
    ) -> None:
        """Do nothing yet: `save_related` saves the job with its schedules."""

    def save_related(
        self,
        request: HttpRequest,
        form: JobForm,
        formsets: list[BaseFormSet],
        change: bool,
    ) -> None:
        """Save the job, schedules, parameters and dependencies through the service."""
        schedules = parameters = dependencies = None
        # The inlines saved with the job: save(commit=False) records what
        # changed for the history message; it writes nothing.
        with_job = (ScheduleFormSet, JobParameterFormSet, DependencyFormSet)
        for formset in formsets:
            if isinstance(formset, with_job):
                formset.save(commit=False)
            if isinstance(formset, ScheduleFormSet):
                schedules = formset.schedule_documents()
            if isinstance(formset, JobParameterFormSet):
                parameters = formset.parameter_documents()
            if isinstance(formset, DependencyFormSet):
                dependencies = formset.dependency_documents()
        job_save(
            job=form.instance,
            schedules=schedules,
            parameters=parameters,
            now=clock.now(),
            secrets=form.cleaned_data.get("secrets"),
            blackouts=form.cleaned_data.get("blackout_calendars"),
            dependencies=dependencies,
            actor=request.user,
            ip=actor_ip(request),
            note=form.cleaned_data.get(NOTE_FIELD) or "",
        )
        form.save_m2m()
        for formset in formsets:
            if not isinstance(formset, with_job):
                self.save_formset(request, form, formset, change)

    # --- columns and read-only fields ---------------------------------------

    @admin.display(description="schedule")
    def schedule_text(self, job: Job) -> str:
        """Describe the job's schedules in words, with the timezone."""
        return describe_schedules(job.schedule_documents(), timezone=job.timezone)

    @admin.display(description="priority", ordering="priority")
    def priority_level(self, job: Job) -> str:
        """Return the job's priority level name, or its number."""
        return priorities.priority_text(job.priority)

    @admin.display(description="next run", ordering="next_run_at")
    def next_run(self, job: Job) -> str | SafeString:
        """Show the next run in the job's zone and in UTC."""
        if job.schedule_error:
            return format_html('<span class="jobs-error">{}</span>', job.schedule_error)
        if job.next_run_at is None:
            return "-"
        return instant_html(job.next_run_at, zone_or_utc(job.timezone))

    @admin.display(description="last run", ordering="last_run_status")
    def last_run(self, job: Job) -> str | SafeString:
        """Show the latest run's status, linking to the run."""
        status = getattr(job, "last_run_status", None)
        if status is None:
            return "-"
        # Annotated with the status (`jobs_with_last_run`).
        run_id = getattr(job, "last_run_id", None)
        url = reverse("admin:jobs_jobrun_change", args=[run_id])
        label = (
            JobRun.Status(status).label if status in JobRun.Status.values else status
        )
        return format_html('<a href="{}">{}</a>', url, status_badge(status, label))

    @admin.display(description="script")
    def runnable(self, job: Job) -> str | SafeString:
        """Show a "blocked" badge when the job's script may not run."""
        block = getattr(job, "script_block", None)
        return "-" if block is None else block_badge(block)

    @admin.display(description="next fire times")
    def upcoming(self, job: Job) -> SafeString:
        """Show the saved job's next fire times in its zone and in UTC."""
        zone = zone_or_utc(job.timezone)
        try:
            fires = job_upcoming_fire_times(
                job=job, after=clock.now(), count=UPCOMING_COUNT
            )
        except engine.ScheduleError as exc:
            return format_html('<p class="jobs-error">{}</p>', str(exc))
        calendars = blackout_calendars_for(jobs=[job])[job.pk]
        body = fire_times_or_note(fires, zone=zone, calendars=calendars)
        if fires and not job.is_active:
            body = format_html(
                '<p class="jobs-preview-note">{}</p>{}', MSG_INACTIVE, body
            )
        return body

    # --- actions ------------------------------------------------------------

    @admin.action(description="Activate selected jobs", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        """Activate the jobs and recompute their next runs."""
        self._set_active(request, queryset, is_active=True)

    @admin.action(description="Deactivate selected jobs", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        """Deactivate the jobs; they keep their schedules but do not run."""
        self._set_active(request, queryset, is_active=False)

    def _set_active(
        self, request: HttpRequest, queryset: QuerySet[Job], *, is_active: bool
    ) -> None:
        now = clock.now()
        jobs = self.permitted(
            request, queryset, check=perms.can_activate_job, verb="change"
        )
        for job in jobs:
            job_set_active(
                job=job,
                is_active=is_active,
                now=now,
                actor=request.user,
                ip=actor_ip(request),
            )
        if not jobs:
            return
        message = MSG_ACTIVATED if is_active else MSG_DEACTIVATED
        self.message_user(
            request, message.format(jobs=count_jobs(len(jobs))), messages.SUCCESS
        )

    @admin.action(description="Run selected jobs now", permissions=["run"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        """Queue a manual run of each job as one batch, asked for by the user."""
        jobs = self.permitted(request, queryset, check=perms.can_run_job, verb="run")
        if not jobs:
            return
        try:
            batch = jobs_run_now(
                jobs=jobs,
                requested_by=request.user,
                now=clock.now(),
                ip=actor_ip(request),
            )
        except BatchItemError as exc:
            self.message_user(
                request, MSG_RUNS_NOT_QUEUED.format(error=exc.message), messages.ERROR
            )
            return
        for job, block in batch.refused:
            self._refused(request, job, ScriptNotRunnableError(block))
        if batch.runs:
            self.message_user(
                request,
                MSG_RUNS_QUEUED.format(jobs=count_jobs(len(batch.runs))),
                messages.SUCCESS,
            )

    def _refused(
        self, request: HttpRequest, job: Job, exc: ScriptNotRunnableError
    ) -> None:
        self.message_user(
            request,
            format_html(
                MSG_RUN_REFUSED,
                job=job.name,
                error=str(exc),
                link=review_link(exc.block),
            ),
            messages.ERROR,
        )

    # --- extra views --------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        """Add the "Run now" button's view and the schedule preview."""
        wrap = self.admin_site.admin_view
        return [
            path(
                "preview-schedule/",
                wrap(self.preview_schedule_view),
                name="jobs_job_preview_schedule",
            ),
            path(
                "<path:object_id>/run-now/",
                wrap(self.run_now_view),
                name="jobs_job_run_now",
            ),
            *super().get_urls(),
        ]

    def run_now_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Queue a manual run of one job (POST from its change page)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self.get_object(request, unquote(object_id))
        if job is None:
            raise Http404
        if not perms.can_run_job(request.user, job):
            raise PermissionDenied
        parameters = self.run_parameters_or_form(request, job)
        if isinstance(parameters, HttpResponse):
            return parameters
        back = HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))
        try:
            run = job_run_now(
                job=job,
                requested_by=request.user,
                now=clock.now(),
                parameters=parameters,
                ip=actor_ip(request),
            )
        except ScriptNotRunnableError as exc:
            self._refused(request, job, exc)
            return back
        run_link = format_html(
            '<a href="{}">#{}</a>',
            reverse("admin:jobs_jobrun_change", args=[run.pk]),
            run.pk,
        )
        self.message_user(
            request,
            format_html(MSG_RUN_QUEUED, run=run_link, job=job.name),
            messages.SUCCESS,
        )
        return back

    def preview_schedule_view(self, request: HttpRequest) -> HttpResponse:
        """Answer a schedule document's next fire times, or the engine's error."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        form = SchedulePreviewForm(request.POST)
        if not form.is_valid():
            field, errors = next(iter(form.errors.items()))
            return JsonResponse({"error": f"{field}: {errors[0]}"}, status=400)
        try:
            fires = schedule_fire_times(
                documents=[form.cleaned_data["schedule"]],
                timezone=form.cleaned_data["timezone"],
                after=clock.now(),
                count=UPCOMING_COUNT,
            )
        except engine.ScheduleError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        return JsonResponse({"fire_times": [fire_time_json(f) for f in fires]})
