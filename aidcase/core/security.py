"""Content-Security-Policy on every response: scripts, styles, images and connections from this site only.

The pages load their scripts from /static/ (no inline script); a few templates still use `style=""`
attributes, hence 'unsafe-inline' for styles only. The interactive API docs (/api/docs/) load Swagger UI
from its CDN with an inline bootstrap script, so they get their own, wider policy.
"""

from django.conf import settings

DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://cdn.jsdelivr.net; "
    "frame-ancestors 'none'; object-src 'none'; base-uri 'self'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            policy = (
                DOCS_POLICY if request.path.startswith("/api/docs/") else settings.CONTENT_SECURITY_POLICY
            )
            response["Content-Security-Policy"] = policy
        return response
