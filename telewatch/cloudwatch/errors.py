"""The errors of the CloudWatch API: AWS's codes, HTTP statuses and fault sides.

Operations raise them; the wire layer renders them per protocol (query XML, json ``__type``
plus ``x-amzn-query-error``, CBOR). ``shape`` is the service model's error shape, which the
json and CBOR protocols name in ``__type``.
"""


class CloudWatchError(Exception):
    """An error answered to the client: ``code`` (AWS's query-era code), ``message``,
    ``status`` (HTTP), ``sender`` (True: the client's fault, ``Sender``; False: ``Receiver``),
    ``extra`` (more members of the error shape, e.g. ``dashboardValidationMessages``).
    """

    code = 'InternalServiceError'
    status = 500
    sender = False
    shape = None

    def __init__(self, code=None, message='', status=None, sender=None, extra=None):
        super().__init__(message)
        self.code = code or self.code
        self.message = message
        self.status = self.status if status is None else status
        if status is None and type(self) is CloudWatchError:
            self.status = 400
        self.sender = self.sender if sender is None else sender
        if sender is None and type(self) is CloudWatchError:
            self.sender = True
        self.extra = dict(extra or {})

    @property
    def type_name(self):
        """The name json and CBOR clients read in ``__type`` (the model's shape if any)."""
        return self.shape or self.code

    def __str__(self):
        return '%s: %s' % (self.code, self.message)


def _error(name, code, status=400, sender=True, shape=None):
    cls = type(name, (CloudWatchError,), {
        'code': code, 'status': status, 'sender': sender, 'shape': shape,
        '__doc__': '%s (HTTP %d, %s).' % (code, status, 'Sender' if sender else 'Receiver'),
        '__init__': lambda self, message='', extra=None: CloudWatchError.__init__(
            self, code, message, extra=extra),
    })
    cls.__module__ = __name__
    return cls


# The modelled errors of monitoring 2010-08-01 (service-2.json's ``error`` traits).
InvalidParameterValue = _error(
    'InvalidParameterValue', 'InvalidParameterValue', shape='InvalidParameterValueException')
MissingParameter = _error(
    'MissingParameter', 'MissingParameter', shape='MissingRequiredParameterException')
InvalidParameterCombination = _error(
    'InvalidParameterCombination', 'InvalidParameterCombination',
    shape='InvalidParameterCombinationException')
ResourceNotFound = _error('ResourceNotFound', 'ResourceNotFound', 404, shape='ResourceNotFound')
ResourceNotFoundException = _error(
    'ResourceNotFoundException', 'ResourceNotFoundException', 404,
    shape='ResourceNotFoundException')
LimitExceeded = _error('LimitExceeded', 'LimitExceeded', shape='LimitExceededFault')
LimitExceededException = _error(
    'LimitExceededException', 'LimitExceededException', shape='LimitExceededException')
InvalidNextToken = _error('InvalidNextToken', 'InvalidNextToken', shape='InvalidNextToken')
InvalidFormat = _error('InvalidFormat', 'InvalidFormat', shape='InvalidFormatFault')
DashboardInvalidInputError = _error(
    'DashboardInvalidInputError', 'InvalidParameterInput', shape='DashboardInvalidInputError')
DashboardNotFoundError = _error(
    'DashboardNotFoundError', 'ResourceNotFound', 404, shape='DashboardNotFoundError')
ResourceConflict = _error('ResourceConflict', 'ResourceConflict', 409, shape='ResourceConflict')
ConflictException = _error(
    'ConflictException', 'ConflictException', 409, shape='ConflictException')
ConcurrentModificationException = _error(
    'ConcurrentModificationException', 'ConcurrentModificationException', 429,
    shape='ConcurrentModificationException')
ValidationError = _error('ValidationError', 'ValidationError', shape='ValidationException')
InternalServiceError = _error(
    'InternalServiceError', 'InternalServiceError', 500, sender=False,
    shape='InternalServiceFault')

# The common errors of every AWS service (not in the model): the protocol and SigV4.
InvalidAction = _error('InvalidAction', 'InvalidAction')
UnknownOperationException = _error('UnknownOperationException', 'UnknownOperationException')
MalformedInput = _error('MalformedInput', 'MalformedInput')  # a body that does not parse
InvalidQueryParameter = _error('InvalidQueryParameter', 'InvalidQueryParameter')
MissingAction = _error('MissingAction', 'MissingAction')
UnsupportedProtocol = _error('UnsupportedProtocol', 'UnsupportedProtocol')
MissingAuthenticationToken = _error(
    'MissingAuthenticationToken', 'MissingAuthenticationToken', 403)
IncompleteSignature = _error('IncompleteSignature', 'IncompleteSignature')
InvalidClientTokenId = _error('InvalidClientTokenId', 'InvalidClientTokenId', 403)
SignatureDoesNotMatch = _error('SignatureDoesNotMatch', 'SignatureDoesNotMatch', 403)
RequestExpired = _error('RequestExpired', 'RequestExpired')
AccessDenied = _error('AccessDenied', 'AccessDenied', 403)
ServiceUnavailable = _error('ServiceUnavailable', 'ServiceUnavailable', 503, sender=False)
