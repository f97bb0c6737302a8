"""Where holder notices go: the e-SSC message box and SMS over HTTP, and a log line (the demo's
channel, and the record that a notice went out). A channel raises ``ChannelFailed`` when a
send did not succeed; the deliverer retries that channel later."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx2 as httpx

from skillvoucher.config import Settings
from skillvoucher.domain.notices import NoticeKind

logger = logging.getLogger("skillvoucher.notices")

# What the holder reads, by kind (Chinese: the e-SSC and SMS speak to holders in Chinese).
NOTICE_TEXTS: dict[NoticeKind, str] = {
    NoticeKind.ENROLLED: "您已使用职业技能培训券报名培训课程。",
    NoticeKind.ENROLMENT_CANCELLED: "您的培训报名已取消，培训券恢复可用（如仍在有效期内）。",
    NoticeKind.ATTENDANCE_STARTED: "您的培训已开始记录考勤。",
    NoticeKind.ATTENDANCE_REACHED: "您的培训出勤已达到补贴要求的比例。",
    NoticeKind.COMPLETED: "您的培训已结业。",
    NoticeKind.CERTIFIED: "您的职业技能证书已登记。",
    NoticeKind.SETTLEMENT_APPROVED: "您的培训补贴结算已审核通过，正在公示。",
    NoticeKind.SETTLEMENT_PAID: "您的培训补贴已拨付给培训机构。",
    NoticeKind.SETTLED: "您的培训券已结算完毕。",
    NoticeKind.REVOKED: "您的培训券已被撤销。",
    NoticeKind.CLAWED_BACK: "您的培训券相关补贴已被追回，培训券已撤销。",
    NoticeKind.DISPUTE_OPENED: "我们已收到您的异议，处理期间相关结算暂停。",
    NoticeKind.DISPUTE_RESOLVED: "您的异议已处理完毕，请登录查看结果。",
}
SIGNATURE = "【职业技能培训券】"


class ChannelFailed(Exception):
    """A send that did not succeed; the text says why (never personal data)."""


@dataclass(frozen=True)
class OutgoingNotice:
    notice_id: uuid.UUID
    person_id: uuid.UUID
    voucher_id: uuid.UUID | None
    kind: NoticeKind
    payload: dict[str, Any]
    mobile: str | None = field(default=None, repr=False)  # SMS only; never logged

    @property
    def text(self) -> str:
        return SIGNATURE + NOTICE_TEXTS[self.kind]


class NoticeChannel(Protocol):
    name: str
    needs_mobile: bool

    def send(self, notice: OutgoingNotice) -> str:
        """Send, returning the result to keep ("sent", or why nothing needed sending)."""
        ...


class LogChannel:
    """One log line per notice: ids and kind only, never an ID number, phone or name."""

    name = "log"
    needs_mobile = False

    def __init__(self, log: logging.Logger = logger) -> None:
        self._log = log

    def send(self, notice: OutgoingNotice) -> str:
        self._log.info(
            "holder notice %s kind=%s person=%s voucher=%s",
            notice.notice_id,
            notice.kind.value,
            notice.person_id,
            notice.voucher_id or "-",
        )
        return "sent"


class _HttpChannel:
    needs_mobile = False
    name = "http"

    def __init__(
        self,
        url: str,
        token: str | None,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._url = url
        self._client = httpx.Client(headers=headers, timeout=timeout, transport=transport)

    def _post(self, notice: OutgoingNotice, body: dict[str, Any]) -> str:
        # The notice id as idempotency key: a retry after a lost answer is not a second message.
        try:
            answer = self._client.post(
                self._url, json=body, headers={"Idempotency-Key": str(notice.notice_id)}
            )
            answer.raise_for_status()
        except httpx.HTTPStatusError as error:
            raise ChannelFailed(f"{self.name} answered {error.response.status_code}") from error
        except httpx.HTTPError as error:
            raise ChannelFailed(f"{self.name} unreachable: {type(error).__name__}") from error
        return "sent"

    def close(self) -> None:
        self._client.close()


class EsscMessageBoxChannel(_HttpChannel):
    """The holder's message box in the e-SSC app, addressed by the holder's internal id (the
    e-SSC side maps it to the card it linked at sign-in)."""

    name = "essc"

    def send(self, notice: OutgoingNotice) -> str:
        return self._post(
            notice,
            {
                "notice_id": str(notice.notice_id),
                "recipient": str(notice.person_id),
                "kind": notice.kind.value,
                "text": notice.text,
                "voucher_id": str(notice.voucher_id) if notice.voucher_id else None,
                "facts": notice.payload,
            },
        )


class SmsChannel(_HttpChannel):
    """A text message through the SMS gateway, to the mobile number on the registry."""

    name = "sms"
    needs_mobile = True

    def send(self, notice: OutgoingNotice) -> str:
        if not notice.mobile:
            return "no_mobile"  # nothing to send to; not a failure to retry
        return self._post(
            notice,
            {"notice_id": str(notice.notice_id), "mobile": notice.mobile, "text": notice.text},
        )


def channels_from_settings(
    settings: Settings, transport: httpx.BaseTransport | None = None
) -> list[NoticeChannel]:
    """The log channel, and each HTTP channel whose endpoint is configured."""
    channels: list[NoticeChannel] = [LogChannel()]
    timeout = settings.notice_timeout_seconds
    if settings.notice_essc_url:
        token = settings.notice_essc_token
        channels.append(
            EsscMessageBoxChannel(
                settings.notice_essc_url,
                token.get_secret_value() if token else None,
                timeout,
                transport,
            )
        )
    if settings.notice_sms_url:
        token = settings.notice_sms_token
        channels.append(
            SmsChannel(
                settings.notice_sms_url,
                token.get_secret_value() if token else None,
                timeout,
                transport,
            )
        )
    return channels


def close_channels(channels: Sequence[NoticeChannel]) -> None:
    for channel in channels:
        if isinstance(channel, _HttpChannel):
            channel.close()
