/** What the scenarios send and how they check an answer is the right one (a 2xx with the wrong body is an error). */
export const FORM = 'application/x-www-form-urlencoded';
export const isActive = (body: string) => body.includes('"active":true');
export const hasAccessToken = (body: string) => body.includes('"access_token":"');
