from django.db import models


class ServiceType(models.Model):
    """What a family can be referred for (shelter, food, health, ...). Reference data loaded by migrate."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
