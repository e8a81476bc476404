"""Creating and reading comparisons for the REST API: one set of takes, one ordinary job per vendor.

Built on training's jobs: each vendor's job is created as POST /v1/jobs would (its sentences, its
options, its expiry), except that it takes its recordings from the comparison's takes
(voiceclone.logic.comparisons.intake) and carries the comparison's consent, whose one-time phrase
the comparison claimed once for all of them. The comparison and its jobs share one deadline
(voiceclone.logic.comparisons.expiry).
"""

from __future__ import annotations

from datetime import datetime

from voiceclone.domain.api_models import (
    ComparisonPage,
    ComparisonSummary,
    ComparisonView,
    CreateComparisonRequest,
)
from voiceclone.domain.comparison import (
    Comparison,
    ComparisonVendor,
    TakePlan,
    TakeRecord,
    VendorScript,
    plan_takes,
)
from voiceclone.domain.consent import CONSENT_TEXT_ID, ConsentKind, ConsentTerms, Requester
from voiceclone.domain.errors import Conflict, InvalidFields, NotFound, PhraseTaken
from voiceclone.domain.models import Job, Sentence, TenantSettings, TrainingText
from voiceclone.logic.comparisons import expiry as comparison_expiry
from voiceclone.logic.core.ids import new_comparison_id, new_job_id
from voiceclone.logic.core.keys import comparison_upload_key, document_key, upload_key
from voiceclone.logic.core.services import Services
from voiceclone.logic.training import consent, expiry
from voiceclone.logic.training.jobs import MAX_PHRASE_DRAWS, presign_upload
from voiceclone.vendors.registry import capabilities

Problem = tuple[tuple[str, ...], str, str]


def validate(request: CreateComparisonRequest) -> list[Problem]:
    """Every problem of a comparison request the schema cannot see, each with where it is; [] if none."""
    problems: list[Problem] = []
    seen: set[str] = set()
    known: set[str] = set()
    for index, vendor in enumerate(request.vendors):
        loc = ("body", "vendors", str(index))
        if vendor in seen:
            problems.append((loc, "DuplicateVendor", f"{vendor} is chosen twice: name each vendor once"))
            continue
        seen.add(vendor)
        try:
            caps = capabilities(vendor)
        except NotFound as exc:
            problems.append((loc, "UnknownVendor", exc.message))
            continue
        if not caps.clones:
            problems.append((loc, "VendorCannotClone", f"{vendor} clones no voices: choose vendors that do"))
            continue
        known.add(vendor)
        limit = caps.voice_name_max_chars
        if limit is not None and len(request.voice_name) > limit:
            problems.append(
                (
                    ("body", "voice_name"),
                    "NameTooLong",
                    f"{vendor} takes voice names of at most {limit} characters; this one has "
                    f"{len(request.voice_name)}",
                )
            )
    for vendor, options in request.options.items():
        loc = ("body", "options", vendor)
        if vendor not in seen:
            problems.append((loc, "UnknownOption", f"options for {vendor}, which is not among the vendors"))
        elif vendor in known:
            problems += [(loc, "InvalidOption", p) for p in capabilities(vendor).validate_options(options)]
    return problems


def _scripts(svc: Services, vendors: list[str]) -> list[VendorScript]:
    """Each vendor's script as a lone job would ask for it, and whether any text serves it."""
    scripts = []
    for vendor in vendors:
        caps = capabilities(vendor)
        texts: list[TrainingText] = svc.adapter_for(vendor).training_texts()[: caps.sentence_count]
        scripts.append(VendorScript(vendor=vendor, texts=texts, reads_any_text=caps.reads_any_text))
    return scripts


def create_comparison(svc: Services, caller: Requester, request: CreateComparisonRequest) -> ComparisonView:
    """The comparison, its takes to record (consent first) with their upload forms, and one job per vendor."""
    problems = validate(request)
    if problems:
        raise InvalidFields(problems)
    tenant_id = caller.tenant_id
    settings = svc.store.tenants.settings(tenant_id)
    plan = plan_takes(_scripts(svc, request.vendors))
    texts = [TrainingText(text_id=t.text_id, text=t.text) for t in plan.takes]
    comparison_id = new_comparison_id()
    documents = sorted({d for v in request.vendors for d in capabilities(v).documents})
    # One deadline for the comparison and its jobs; armed before the record exists (as a job's is),
    # so no comparison is ever written without its schedule (a schedule without one finds nothing).
    deadline_at = expiry.deadline(svc)
    comparison_expiry.arm(svc, comparison_id, deadline_at)
    comparison = _claimed(svc, settings, caller, request, plan, texts, comparison_id, documents, deadline_at)
    jobs = {v.job_id: _create_job(svc, comparison, v) for v in comparison.vendors}
    uploads = {
        t.text_id: presign_upload(svc, comparison_upload_key(tenant_id, comparison_id, t.text_id))
        for t in comparison.takes
    }
    forms = {
        name: presign_upload(svc, document_key(tenant_id, comparison_id, name), "application/pdf")
        for name in documents
    }
    return ComparisonView.of(comparison, jobs, uploads, forms)


def _claimed(
    svc: Services,
    settings: TenantSettings,
    caller: Requester,
    request: CreateComparisonRequest,
    plan: TakePlan,
    texts: list[TrainingText],
    comparison_id: str,
    documents: list[str],
    deadline_at: datetime,
) -> Comparison:
    """Write the comparison with its consent phrase claimed; a phrase issued before is drawn again."""
    for _ in range(MAX_PHRASE_DRAWS):
        terms = consent.new_terms(settings, caller, request, texts)
        takes = [TakeRecord(text_id=t.text_id, text=t.text) for t in plan.takes]
        if terms.kind is ConsentKind.RECORDING:
            takes.insert(0, TakeRecord(text_id=CONSENT_TEXT_ID, text=terms.statement))
        comparison = Comparison(
            comparison_id=comparison_id,
            tenant_id=caller.tenant_id,
            voice_name=request.voice_name,
            speaker_name=request.speaker_name,
            language=request.language,
            gender=request.gender,
            consent=terms,
            takes=takes,
            documents=dict.fromkeys(documents, ""),
            vendors=[
                ComparisonVendor(
                    vendor=needs.vendor,
                    job_id=new_job_id(),
                    options=dict(request.options.get(needs.vendor, {})),
                    text_ids=needs.text_ids,
                )
                for needs in plan.vendors
            ],
            notify_url=request.notify_url,
            deadline_at=deadline_at,
        )
        try:
            svc.store.comparisons.create(comparison)
        except PhraseTaken:
            continue
        return comparison
    raise Conflict("PhraseTaken", "no unused one-time phrase was drawn; try again")


def _job_terms(terms: ConsentTerms) -> ConsentTerms:
    """The comparison's consent as each vendor's job carries it: the phrase is the comparison's claim."""
    return terms.model_copy(update={"phrase_digits": ""})


def _create_job(svc: Services, comparison: Comparison, entry: ComparisonVendor) -> Job:
    """One vendor's job: its own sentences (its subset of the takes, under its own text ids)."""
    tenant_id, job_id = comparison.tenant_id, entry.job_id
    caps = capabilities(entry.vendor)
    texts = {t.text_id: t.text for t in comparison.takes}
    job = Job(
        job_id=job_id,
        tenant_id=tenant_id,
        vendor=entry.vendor,
        voice_name=comparison.voice_name,
        language=comparison.language,
        gender=comparison.gender,
        speaker_name=comparison.speaker_name,
        consent=_job_terms(comparison.consent),
        sentence_count=len(entry.text_ids),
        vendor_options=dict(entry.options),
        documents=dict.fromkeys(caps.documents, ""),
        notify_url=comparison.notify_url,
        deadline_at=comparison.deadline_at,
        comparison_id=comparison.comparison_id,
    )
    sentences = [
        Sentence(
            job_id=job_id,
            tenant_id=tenant_id,
            text_id=vendor_text_id,
            text=texts[take_id],
            s3_key=upload_key(tenant_id, job_id, vendor_text_id),
        )
        for take_id, vendor_text_id in entry.text_ids.items()
    ]
    sentences += consent.consent_sentence(job, upload_key(tenant_id, job_id, CONSENT_TEXT_ID))
    expiry.arm(svc, job)
    svc.store.jobs.create(job, sentences)
    return job


def _jobs(svc: Services, comparison: Comparison) -> dict[str, Job]:
    found = {}
    for entry in comparison.vendors:
        job = svc.store.jobs.get(entry.job_id)
        if job is not None:
            found[entry.job_id] = job
    return found


def get_comparison(svc: Services, tenant_id: str, comparison_id: str) -> ComparisonView:
    comparison = svc.store.comparisons.require(comparison_id, tenant_id)
    return ComparisonView.of(comparison, _jobs(svc, comparison))


def list_comparisons(svc: Services, tenant_id: str, limit: int, cursor: str | None) -> ComparisonPage:
    found, next_cursor = svc.store.comparisons.list(tenant_id, limit, cursor)
    return ComparisonPage(items=[ComparisonSummary.of(c) for c in found], next_cursor=next_cursor)
