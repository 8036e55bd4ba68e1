#!/usr/bin/perl
# A client of the gateway made by Perl's OpenAPI::Client (Debian's libopenapi-client-perl) from
# openapi/openapi-3.0.json, loaded from the file with no network. It calls every operation of a plan (made by
# test/contract/perl-client.test.ts) by its operationId, lets OpenAPI::Client validate each request against the
# document, checks the status and validates each JSON answer against the document's response schema.
# Usage: call-every-operation.pl <openapi-3.0.json> <plan.json>
use strict;
use warnings;
use Mojo::File qw(path);
use Mojo::JSON qw(decode_json);
use OpenAPI::Client;

my ($spec, $plan_file) = @ARGV;
die "usage: $0 <openapi-3.0.json> <plan.json>\n" unless $spec && $plan_file;
my $plan = decode_json(path($plan_file)->slurp);
my $client = OpenAPI::Client->new('file://' . path($spec)->to_abs, base_url => $plan->{base});
# A change without a body must show it is not a browser's cross-site request (the gateway's CSRF guard).
$client->ua->on(start => sub { $_[1]->req->headers->header('X-Requested-With' => 'perl-client') });

my ($passed, $failed) = (0, 0);
for my $call (@{ $plan->{calls} }) {
  my $name = "$call->{operationId} ($call->{method} $call->{path})";
  my $tx = $client->call($call->{operationId} => $call->{params}, defined $call->{body} ? (json => $call->{body}) : ());
  my $code = $tx->res->code // 0;
  my @errors;
  # OpenAPI::Client answers 400 itself, without sending, when the request does not match the document.
  push @errors, "never reached the gateway (refused by the client?): " . $tx->res->body unless $tx->res->headers->header('x-request-id');
  push @errors, "status $code, want $call->{expect}: " . $tx->res->body if $code != $call->{expect};
  my $type = $tx->res->headers->content_type // '';
  if (!@errors && $type =~ m{json}) {
    my $json = $tx->res->json;
    push @errors, map {"response does not match the document: $_"} $client->validator->validate_response(
      [lc $call->{method}, $call->{template}, $code],
      { body => sub { return {exists => 1, value => $json, content_type => ($type =~ s/;.*//r)} } },
    );
  }
  if (@errors) { $failed++; print "not ok $name: @errors\n" } else { $passed++; print "ok $name $code\n" }
}
print "$passed passed, $failed failed\n";
exit($failed ? 1 : 0);
