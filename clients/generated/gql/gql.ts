/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query Accounts($first: Int! = 20, $role: Role) {\n  accounts(first: $first, role: $role) {\n    edges {\n      node {\n        id\n        name\n        role\n        disabled\n      }\n    }\n  }\n}": typeof types.AccountsDocument,
    "mutation ActivatePartnerManifest($id: ID!) {\n  activatePartnerManifest(id: $id) {\n    __typename\n    ... on PartnerManifest {\n      id\n      status\n    }\n    ... on Error {\n      message\n    }\n  }\n}": typeof types.ActivatePartnerManifestDocument,
    "query Bookings($first: Int! = 20) {\n  bookings(first: $first) {\n    edges {\n      node {\n        id\n        status\n        departmentId\n        visitDate\n        fee\n      }\n    }\n  }\n}": typeof types.BookingsDocument,
    "mutation CreatePartnerKey($input: CreatePartnerKeyInput!) {\n  createPartnerKey(input: $input) {\n    __typename\n    ... on PartnerKeyCreated {\n      key\n      partnerKey {\n        id\n        application\n        keyHint\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}": typeof types.CreatePartnerKeyDocument,
    "mutation DisableAccount($accountId: ID!, $reason: String!) {\n  disableAccount(accountId: $accountId, reason: $reason) {\n    __typename\n    ... on Account {\n      id\n      disabled\n      disabledReason\n    }\n    ... on Error {\n      message\n    }\n  }\n}": typeof types.DisableAccountDocument,
    "mutation UploadPartnerManifest($application: String!, $version: String!, $manifest: JSON!) {\n  uploadPartnerManifest(\n    application: $application\n    version: $version\n    manifest: $manifest\n  ) {\n    __typename\n    ... on PartnerManifest {\n      id\n      status\n      documentCount\n    }\n    ... on ManifestNotValid {\n      message\n      problems\n    }\n    ... on Error {\n      message\n    }\n  }\n}": typeof types.UploadPartnerManifestDocument,
    "mutation BookSlot($input: BookSlotInput!) {\n  bookSlot(input: $input) {\n    __typename\n    ... on Booking {\n      id\n      status\n      fee\n      queueNumber\n      expiresAt\n      slotStart\n    }\n    ... on Error {\n      message\n    }\n  }\n}": typeof types.BookSlotDocument,
    "query Departments {\n  departments {\n    id\n    name\n    building\n    floor\n    children {\n      id\n      name\n    }\n  }\n}": typeof types.DepartmentsDocument,
    "query Doctors($departmentId: ID) {\n  doctors(departmentId: $departmentId) {\n    id\n    name\n    title\n    department {\n      id\n      name\n    }\n  }\n}": typeof types.DoctorsDocument,
    "mutation Login($phone: String!, $password: String!) {\n  login(phone: $phone, password: $password) {\n    __typename\n    ... on AuthPayload {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      account {\n        id\n        name\n        role\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}": typeof types.LoginDocument,
    "query MyBookings($first: Int! = 20) {\n  myBookings(first: $first) {\n    edges {\n      node {\n        id\n        status\n        fee\n        visitDate\n        slotStart\n      }\n    }\n  }\n}": typeof types.MyBookingsDocument,
    "query MyPatients {\n  myPatients {\n    id\n    name\n  }\n}": typeof types.MyPatientsDocument,
    "subscription MyQueue($bookingId: ID!) {\n  myQueue(bookingId: $bookingId) {\n    bookingId\n    label\n    state\n    position\n    peopleAhead\n    yourTurn\n    message\n    sequence\n  }\n}": typeof types.MyQueueDocument,
    "mutation PayBooking($bookingId: ID!) {\n  payBooking(bookingId: $bookingId) {\n    __typename\n    ... on SandboxPayment {\n      payPageUrl\n      order {\n        id\n        outTradeNo\n        amount\n        status\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}": typeof types.PayBookingDocument,
    "query Schedules($dateFrom: Date!, $dateTo: Date!, $departmentId: ID) {\n  schedules(dateFrom: $dateFrom, dateTo: $dateTo, departmentId: $departmentId) {\n    id\n    doctorId\n    date\n    period\n    fee\n    remaining\n    status\n    slots {\n      id\n      start\n      end\n      remaining\n      bookable\n    }\n  }\n}": typeof types.SchedulesDocument,
};
const documents: Documents = {
    "query Accounts($first: Int! = 20, $role: Role) {\n  accounts(first: $first, role: $role) {\n    edges {\n      node {\n        id\n        name\n        role\n        disabled\n      }\n    }\n  }\n}": types.AccountsDocument,
    "mutation ActivatePartnerManifest($id: ID!) {\n  activatePartnerManifest(id: $id) {\n    __typename\n    ... on PartnerManifest {\n      id\n      status\n    }\n    ... on Error {\n      message\n    }\n  }\n}": types.ActivatePartnerManifestDocument,
    "query Bookings($first: Int! = 20) {\n  bookings(first: $first) {\n    edges {\n      node {\n        id\n        status\n        departmentId\n        visitDate\n        fee\n      }\n    }\n  }\n}": types.BookingsDocument,
    "mutation CreatePartnerKey($input: CreatePartnerKeyInput!) {\n  createPartnerKey(input: $input) {\n    __typename\n    ... on PartnerKeyCreated {\n      key\n      partnerKey {\n        id\n        application\n        keyHint\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}": types.CreatePartnerKeyDocument,
    "mutation DisableAccount($accountId: ID!, $reason: String!) {\n  disableAccount(accountId: $accountId, reason: $reason) {\n    __typename\n    ... on Account {\n      id\n      disabled\n      disabledReason\n    }\n    ... on Error {\n      message\n    }\n  }\n}": types.DisableAccountDocument,
    "mutation UploadPartnerManifest($application: String!, $version: String!, $manifest: JSON!) {\n  uploadPartnerManifest(\n    application: $application\n    version: $version\n    manifest: $manifest\n  ) {\n    __typename\n    ... on PartnerManifest {\n      id\n      status\n      documentCount\n    }\n    ... on ManifestNotValid {\n      message\n      problems\n    }\n    ... on Error {\n      message\n    }\n  }\n}": types.UploadPartnerManifestDocument,
    "mutation BookSlot($input: BookSlotInput!) {\n  bookSlot(input: $input) {\n    __typename\n    ... on Booking {\n      id\n      status\n      fee\n      queueNumber\n      expiresAt\n      slotStart\n    }\n    ... on Error {\n      message\n    }\n  }\n}": types.BookSlotDocument,
    "query Departments {\n  departments {\n    id\n    name\n    building\n    floor\n    children {\n      id\n      name\n    }\n  }\n}": types.DepartmentsDocument,
    "query Doctors($departmentId: ID) {\n  doctors(departmentId: $departmentId) {\n    id\n    name\n    title\n    department {\n      id\n      name\n    }\n  }\n}": types.DoctorsDocument,
    "mutation Login($phone: String!, $password: String!) {\n  login(phone: $phone, password: $password) {\n    __typename\n    ... on AuthPayload {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      account {\n        id\n        name\n        role\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}": types.LoginDocument,
    "query MyBookings($first: Int! = 20) {\n  myBookings(first: $first) {\n    edges {\n      node {\n        id\n        status\n        fee\n        visitDate\n        slotStart\n      }\n    }\n  }\n}": types.MyBookingsDocument,
    "query MyPatients {\n  myPatients {\n    id\n    name\n  }\n}": types.MyPatientsDocument,
    "subscription MyQueue($bookingId: ID!) {\n  myQueue(bookingId: $bookingId) {\n    bookingId\n    label\n    state\n    position\n    peopleAhead\n    yourTurn\n    message\n    sequence\n  }\n}": types.MyQueueDocument,
    "mutation PayBooking($bookingId: ID!) {\n  payBooking(bookingId: $bookingId) {\n    __typename\n    ... on SandboxPayment {\n      payPageUrl\n      order {\n        id\n        outTradeNo\n        amount\n        status\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}": types.PayBookingDocument,
    "query Schedules($dateFrom: Date!, $dateTo: Date!, $departmentId: ID) {\n  schedules(dateFrom: $dateFrom, dateTo: $dateTo, departmentId: $departmentId) {\n    id\n    doctorId\n    date\n    period\n    fee\n    remaining\n    status\n    slots {\n      id\n      start\n      end\n      remaining\n      bookable\n    }\n  }\n}": types.SchedulesDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Accounts($first: Int! = 20, $role: Role) {\n  accounts(first: $first, role: $role) {\n    edges {\n      node {\n        id\n        name\n        role\n        disabled\n      }\n    }\n  }\n}"): (typeof documents)["query Accounts($first: Int! = 20, $role: Role) {\n  accounts(first: $first, role: $role) {\n    edges {\n      node {\n        id\n        name\n        role\n        disabled\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation ActivatePartnerManifest($id: ID!) {\n  activatePartnerManifest(id: $id) {\n    __typename\n    ... on PartnerManifest {\n      id\n      status\n    }\n    ... on Error {\n      message\n    }\n  }\n}"): (typeof documents)["mutation ActivatePartnerManifest($id: ID!) {\n  activatePartnerManifest(id: $id) {\n    __typename\n    ... on PartnerManifest {\n      id\n      status\n    }\n    ... on Error {\n      message\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Bookings($first: Int! = 20) {\n  bookings(first: $first) {\n    edges {\n      node {\n        id\n        status\n        departmentId\n        visitDate\n        fee\n      }\n    }\n  }\n}"): (typeof documents)["query Bookings($first: Int! = 20) {\n  bookings(first: $first) {\n    edges {\n      node {\n        id\n        status\n        departmentId\n        visitDate\n        fee\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CreatePartnerKey($input: CreatePartnerKeyInput!) {\n  createPartnerKey(input: $input) {\n    __typename\n    ... on PartnerKeyCreated {\n      key\n      partnerKey {\n        id\n        application\n        keyHint\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}"): (typeof documents)["mutation CreatePartnerKey($input: CreatePartnerKeyInput!) {\n  createPartnerKey(input: $input) {\n    __typename\n    ... on PartnerKeyCreated {\n      key\n      partnerKey {\n        id\n        application\n        keyHint\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation DisableAccount($accountId: ID!, $reason: String!) {\n  disableAccount(accountId: $accountId, reason: $reason) {\n    __typename\n    ... on Account {\n      id\n      disabled\n      disabledReason\n    }\n    ... on Error {\n      message\n    }\n  }\n}"): (typeof documents)["mutation DisableAccount($accountId: ID!, $reason: String!) {\n  disableAccount(accountId: $accountId, reason: $reason) {\n    __typename\n    ... on Account {\n      id\n      disabled\n      disabledReason\n    }\n    ... on Error {\n      message\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UploadPartnerManifest($application: String!, $version: String!, $manifest: JSON!) {\n  uploadPartnerManifest(\n    application: $application\n    version: $version\n    manifest: $manifest\n  ) {\n    __typename\n    ... on PartnerManifest {\n      id\n      status\n      documentCount\n    }\n    ... on ManifestNotValid {\n      message\n      problems\n    }\n    ... on Error {\n      message\n    }\n  }\n}"): (typeof documents)["mutation UploadPartnerManifest($application: String!, $version: String!, $manifest: JSON!) {\n  uploadPartnerManifest(\n    application: $application\n    version: $version\n    manifest: $manifest\n  ) {\n    __typename\n    ... on PartnerManifest {\n      id\n      status\n      documentCount\n    }\n    ... on ManifestNotValid {\n      message\n      problems\n    }\n    ... on Error {\n      message\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation BookSlot($input: BookSlotInput!) {\n  bookSlot(input: $input) {\n    __typename\n    ... on Booking {\n      id\n      status\n      fee\n      queueNumber\n      expiresAt\n      slotStart\n    }\n    ... on Error {\n      message\n    }\n  }\n}"): (typeof documents)["mutation BookSlot($input: BookSlotInput!) {\n  bookSlot(input: $input) {\n    __typename\n    ... on Booking {\n      id\n      status\n      fee\n      queueNumber\n      expiresAt\n      slotStart\n    }\n    ... on Error {\n      message\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Departments {\n  departments {\n    id\n    name\n    building\n    floor\n    children {\n      id\n      name\n    }\n  }\n}"): (typeof documents)["query Departments {\n  departments {\n    id\n    name\n    building\n    floor\n    children {\n      id\n      name\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Doctors($departmentId: ID) {\n  doctors(departmentId: $departmentId) {\n    id\n    name\n    title\n    department {\n      id\n      name\n    }\n  }\n}"): (typeof documents)["query Doctors($departmentId: ID) {\n  doctors(departmentId: $departmentId) {\n    id\n    name\n    title\n    department {\n      id\n      name\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Login($phone: String!, $password: String!) {\n  login(phone: $phone, password: $password) {\n    __typename\n    ... on AuthPayload {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      account {\n        id\n        name\n        role\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}"): (typeof documents)["mutation Login($phone: String!, $password: String!) {\n  login(phone: $phone, password: $password) {\n    __typename\n    ... on AuthPayload {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      account {\n        id\n        name\n        role\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query MyBookings($first: Int! = 20) {\n  myBookings(first: $first) {\n    edges {\n      node {\n        id\n        status\n        fee\n        visitDate\n        slotStart\n      }\n    }\n  }\n}"): (typeof documents)["query MyBookings($first: Int! = 20) {\n  myBookings(first: $first) {\n    edges {\n      node {\n        id\n        status\n        fee\n        visitDate\n        slotStart\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query MyPatients {\n  myPatients {\n    id\n    name\n  }\n}"): (typeof documents)["query MyPatients {\n  myPatients {\n    id\n    name\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription MyQueue($bookingId: ID!) {\n  myQueue(bookingId: $bookingId) {\n    bookingId\n    label\n    state\n    position\n    peopleAhead\n    yourTurn\n    message\n    sequence\n  }\n}"): (typeof documents)["subscription MyQueue($bookingId: ID!) {\n  myQueue(bookingId: $bookingId) {\n    bookingId\n    label\n    state\n    position\n    peopleAhead\n    yourTurn\n    message\n    sequence\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation PayBooking($bookingId: ID!) {\n  payBooking(bookingId: $bookingId) {\n    __typename\n    ... on SandboxPayment {\n      payPageUrl\n      order {\n        id\n        outTradeNo\n        amount\n        status\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}"): (typeof documents)["mutation PayBooking($bookingId: ID!) {\n  payBooking(bookingId: $bookingId) {\n    __typename\n    ... on SandboxPayment {\n      payPageUrl\n      order {\n        id\n        outTradeNo\n        amount\n        status\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Schedules($dateFrom: Date!, $dateTo: Date!, $departmentId: ID) {\n  schedules(dateFrom: $dateFrom, dateTo: $dateTo, departmentId: $departmentId) {\n    id\n    doctorId\n    date\n    period\n    fee\n    remaining\n    status\n    slots {\n      id\n      start\n      end\n      remaining\n      bookable\n    }\n  }\n}"): (typeof documents)["query Schedules($dateFrom: Date!, $dateTo: Date!, $departmentId: ID) {\n  schedules(dateFrom: $dateFrom, dateTo: $dateTo, departmentId: $departmentId) {\n    id\n    doctorId\n    date\n    period\n    fee\n    remaining\n    status\n    slots {\n      id\n      start\n      end\n      remaining\n      bookable\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;