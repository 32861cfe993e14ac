"""Errors of the audit tools, in the domain's style: a code and a message in Chinese and English."""

from __future__ import annotations

from consult.errors import ConsultError


class AuditError(ConsultError):
    code = "audit"
    zh = "审计操作未能完成：{reason}"
    en = "The audit operation could not be completed: {reason_en}"


class KeyFileError(AuditError):
    code = "audit_key"
    zh = "签名密钥文件 {path} 无法使用：{reason}"
    en = "The signing key file {path} cannot be used: {reason_en}"


class TamperedError(AuditError):
    """Refusing to sign: the history since the last checkpoint does not verify."""

    code = "audit_tampered"
    zh = "拒绝签发检查点：自上一个检查点以来的历史未通过核验。{problem}"
    en = "Refusing to sign a checkpoint: the history since the last checkpoint does not verify. {problem_en}"


class StoreError(AuditError):
    code = "audit_store"
    zh = "无法使用审计存储：{reason}"
    en = "The audit store cannot be used: {reason_en}"
